import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Storage

/// The FHIR interactions without HTTP, each one whole: validation, access, versioning rules,
/// conditional logic, the transaction and the audit record. Controllers decode and encode only;
/// the store, the database and the audit sink are the service's own (nothing outside this
/// module reaches them). The steps that take a transaction (`in tx:`) let a Bundle group many
/// interactions in one.
package struct FHIRService: Sendable {
    package let definitions: FHIRDefinitions
    let store: ResourceStore
    let search: SearchEngine
    let validator: ResourceValidator
    let creates: CreateCoalescer
    let audit: any AuditSink<DatabaseTransaction>
    /// The audit trail read back: AuditEvents live in its tables, not as indexed resources.
    let auditEvents: any AuditEventReading
    package let compartment: PatientCompartment
    package let policy: AccessPolicy

    package init(
        definitions: FHIRDefinitions, store: ResourceStore, search: SearchEngine, audit: any AuditSink<DatabaseTransaction>,
        auditEvents: any AuditEventReading
    ) {
        self.definitions = definitions
        self.store = store
        self.search = search
        self.audit = audit
        self.auditEvents = auditEvents
        self.validator = ResourceValidator(definitions: definitions)
        self.creates = CreateCoalescer(store: store, audit: audit)
        self.compartment = PatientCompartment(definitions: definitions, registry: search.registry)
        self.policy = AccessPolicy(definitions: definitions)
    }

    /// Types only the server writes. AuditEvents are the audit trail: never created, changed or
    /// deleted through the API.
    package func requireWritable(_ type: String) throws(FHIRError) {
        try requireType(type)
        if type == "AuditEvent" {
            throw FHIRError(.methodNotAllowed, code: "not-supported", "AuditEvents are written by the server only; they cannot be created, changed or deleted")
        }
    }

    var database: any Database { store.database }
    package var registry: SearchParameterRegistry { search.registry }

    // MARK: Input checks

    package func requireType(_ type: String) throws(FHIRError) {
        guard definitions.isResourceType(type) else { throw .unknownType(type) }
    }

    /// Parses a request body into a resource object of the expected type and validates it.
    package func decodeResource(_ bytes: some Collection<UInt8>, type: String?) throws(FHIRError) -> JSONObject {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw FHIRError(.badRequest, code: "structure", "The body is not valid JSON: \(error.description)")
        }
        return try checkResource(json, type: type, location: nil)
    }

    /// Validates a parsed resource; `location` prefixes issue paths (e.g. `Bundle.entry[2].resource`).
    package func checkResource(_ json: JSON, type: String?, location: String?) throws(FHIRError) -> JSONObject {
        guard let object = json.objectValue else {
            throw FHIRError(.badRequest, code: "structure", "A resource must be a JSON object", expression: location.map { [$0] } ?? [])
        }
        guard let actual = object["resourceType"]?.stringValue else {
            throw FHIRError(.badRequest, code: "required", "The resource has no resourceType", expression: location.map { [$0] } ?? [])
        }
        if let type, actual != type {
            throw FHIRError(.badRequest, code: "invalid", "The resource is a \(actual.prefix(64)) but the URL is for \(type)", expression: [location ?? actual])
        }
        let issues = validator.validate(json, expectedType: type)
        if !issues.isEmpty {
            throw FHIRError(
                .unprocessableContent,
                issues.map { issue in
                    let path = location.map { loc in loc + issue.location.drop { $0 != "." } } ?? issue.location
                    return OutcomeIssue(.error, issue.code.rawValue, issue.message, expression: [path])
                })
        }
        return object
    }

    /// Under a limited token, older versions must be within the limit too (a resource may have
    /// been moved from one patient to another).
    package func requireVersions(_ versions: [ResourceVersion], limit: CompartmentLimit, access: RequestAccess) async throws {
        guard let first = versions.first, access.condition(limit, type: first.type) != nil else { return }
        let patients = Set(versions.flatMap(compartment.patients(of:)))
        try await database.read { db in try await access.requireContent(limit, first.type, patients: Array(patients), on: db) }
    }

    /// A search of one type under the request's access (AuditEvents come from the audit trail).
    package func search(_ request: SearchRequest, access: RequestAccess) async throws -> SearchEngine.Result {
        if request.type == "AuditEvent" {
            _ = try access.limit(request.type, .search)
            let query = try AuditEventSearch.query(request)
            return AuditEventSearch.result(try await auditEvents.events(query), request, query: query)
        }
        return try await search.search(request, access: access)
    }

    package func searchRequest(type: String, query: String, strict: Bool = true) throws(FHIRError) -> SearchRequest {
        try SearchRequest(type: type, pairs: QueryString.decode(query), registry: registry, strict: strict)
    }

    // MARK: Interactions

    func auditEvent(_ id: String) async throws -> ResourceVersion? {
        try await auditEvents.event(id: id).map { ResourceVersion(type: "AuditEvent", id: $0.id, version: 1, lastUpdated: $0.recorded, deleted: false, content: $0.content) }
    }

    package func read(_ type: String, _ id: String, access: RequestAccess) async throws -> ResourceVersion {
        try requireType(type)
        let limit = try access.limit(type, .read)
        if type == "AuditEvent" {
            guard let v = try await auditEvent(id) else { throw FHIRError.notFound(type, id) }
            return v
        }
        let limited = access.condition(limit, type: type) != nil
        guard let v = try await store.read(type, id) else { throw limited ? RequestAccess.outside(type, id) : FHIRError.notFound(type, id) }
        if v.deleted { throw limited ? RequestAccess.outside(type, id) : FHIRError.gone(type, id) }
        if limited { try await database.read { db in try await access.require(limit, type, id, on: db) } }
        return v
    }

    package func vread(_ type: String, _ id: String, version: String, access: RequestAccess) async throws -> ResourceVersion {
        try requireType(type)
        let limit = try access.limit(type, .read)
        if type == "AuditEvent" {
            guard version == "1", let v = try await auditEvent(id) else { throw FHIRError.notFound(type, "\(id)/_history/\(version.prefix(20))") }
            return v
        }
        if access.condition(limit, type: type) != nil {
            // Versions of a resource are visible when its current version is.
            try await database.read { db in try await access.require(limit, type, id, on: db) }
        }
        guard let n = Int(version), n > 0 else { throw FHIRError.notFound(type, "\(id)/_history/\(version.prefix(20))") }
        guard let v = try await store.vread(type, id, version: n) else {
            if try await store.read(type, id) == nil { throw FHIRError.notFound(type, id) }
            throw FHIRError(.notFound, code: "not-found", "\(type)/\(id) has no version \(n)")
        }
        if v.deleted { throw FHIRError(.gone, code: "deleted", "Version \(n) of \(type)/\(id) is a deletion") }
        try await requireVersions([v], limit: limit, access: access)
        return v
    }

    /// Create, or with `ifNoneExist` return the one existing match. Returns whether it created.
    /// Plain creates are prepared here and written by the create coalescer, which commits the
    /// creates that arrive together in one transaction.
    /// `audit` is completed with the new resource and its patients, and committed with it.
    package func create(_ resource: JSONObject, type: String, ifNoneExist: String?, access: RequestAccess, audit record: AuditRecord) async throws -> (
        ResourceVersion, created: Bool
    ) {
        try requireWritable(type)
        let limit = try access.limit(type, .create)
        let id = ResourceID.generate()
        let patients = compartment.patients(of: .object(resource), type: type, id: id)
        try await database.read { db in try await requireCreatable(resource, type: type, id: id, limit: limit, access: access, on: db) }
        // Creates that must record more in their transaction than the coalescer writes go the
        // long way: a carer assignment, or an Encounter/CareTeam written under break-glass ...
        // ... and so do types with write rules, which may refuse one create of a group.
        guard Self.recordsCare(type: type, access: access) || !(ifNoneExist ?? "").isEmpty || store.hasRules(for: type) else {
            let prepared = try store.prepareCreate(resource, type: type, id: id)
            var r = record
            r.resources = [prepared.version.reference]
            r.patients = patients
            return (try await creates.submit(prepared, audit: r), true)
        }
        let query = ifNoneExist.map { c in c.hasPrefix("\(type)?") ? String(c.dropFirst(type.count + 1)) : c.hasPrefix("?") ? String(c.dropFirst()) : c } ?? ""
        let request = query.isEmpty ? nil : try searchRequest(type: type, query: query)
        return try await database.transaction { tx in
            var ids: [String] = []
            if let request {
                try await tx.lock("create:\(type)?\(query)")
                ids = try await search.matchingIDs(request, limit: 2, access: access, for: .create, on: tx.sql)
                if ids.count > 1 { throw FHIRError.preconditionFailed("If-None-Exist matched more than one \(type)") }
            }
            let result: (ResourceVersion, Bool)
            if let existing = ids.first, let v = try await store.read(type, existing, on: tx.sql) {
                result = (v, false)
            } else {
                let v = try await store.create(resource, type: type, id: id, in: tx)
                try await recordCare(ofCreated: v, access: access, in: tx)
                result = (v, true)
            }
            var r = record
            r.resources = [result.0.reference]
            r.patients = compartment.patients(of: result.0)
            try await audit.append([r], in: tx)
            return result
        }
    }

    /// Creates `resource` (its id chosen by the caller, `id`) under `access` together with the
    /// Binary resources holding its attachments, in one transaction: all or nothing. Each
    /// Binary must name the new resource as its `securityContext`; it is written as part of the
    /// resource (no access of its own is checked) and read only through it
    /// (`attachment(_:of:access:)`). Audited as one create naming every resource written.
    package func create(
        _ resource: JSONObject, type: String, id: String, attachments: [(id: String, binary: JSONObject)], access: RequestAccess, audit record: AuditRecord
    ) async throws -> ResourceVersion {
        try requireWritable(type)
        let limit = try access.limit(type, .create)
        guard ResourceID.isValid(id) else { throw FHIRError.invalid("'\(id.prefix(70))' is not a valid resource id") }
        for a in attachments {
            guard ResourceID.isValid(a.id), a.binary["resourceType"]?.stringValue == "Binary",
                a.binary["securityContext"]?["reference"]?.stringValue == "\(type)/\(id)"
            else { throw FHIRError.invalid("An attachment must be a Binary whose securityContext is \(type)/\(id)") }
            _ = try checkResource(.object(a.binary), type: "Binary", location: "Binary")
        }
        try await database.read { db in try await requireCreatable(resource, type: type, id: id, limit: limit, access: access, on: db) }
        return try await database.transaction { tx in
            guard try await store.read(type, id, on: tx.sql) == nil else { throw FHIRError(.conflict, code: "duplicate", "\(type)/\(id) exists already") }
            let v = try await store.create(resource, type: type, id: id, in: tx)
            for a in attachments { _ = try await store.create(a.binary, type: "Binary", id: a.id, in: tx) }
            var r = record
            r.resources = [v.reference] + attachments.map { "Binary/\($0.id)" }
            r.patients = compartment.patients(of: v)
            try await audit.append([r], in: tx)
            return v
        }
    }

    /// An attachment (`Binary/<binary>`) of a resource the caller may read: the resource is read
    /// under `access` (a 403 as on a read), must reference the Binary, and the Binary must name
    /// the resource as its `securityContext`.
    package func attachment(_ binary: String, of type: String, _ id: String, access: RequestAccess) async throws -> (owner: ResourceVersion, binary: JSONObject) {
        let owner = try await read(type, id, access: access)
        guard ResourceID.isValid(binary), let content = owner.content, content.range(of: Data("\"Binary/\(binary)\"".utf8)) != nil,
            let v = try await store.read("Binary", binary), !v.deleted, let data = v.content, let object = try JSON.parse(data).objectValue,
            object["securityContext"]?["reference"]?.stringValue == "\(type)/\(id)"
        else { throw FHIRError.notFound("Binary", binary) }
        return (owner, object)
    }

    // MARK: Whole interactions: their own transaction, audited in it

    /// Runs an interaction and audits it. `committed`: the interaction audits its success in its
    /// own transaction; otherwise success is audited here, soon, before the caller answers. Every
    /// failure is audited here (its transaction, if any, rolled back) with the error's issue code.
    package func audited<T: Sendable>(_ record: AuditRecord, committed: Bool = false, _ body: (inout AuditRecord) async throws -> T) async throws -> T {
        var record = record
        do {
            let result = try await ResourceWriter.$current.withValue(record.agent) { try await body(&record) }
            if !committed { try await audit.appendSoon([record]) }
            return result
        } catch {
            let fhirError = FHIRError.from(error, requestID: record.requestID)
            record.outcome = fhirError.status.code >= 500 ? .seriousFailure : .minorFailure
            record.outcomeCode = fhirError.issues.first?.code
            try? await audit.appendSoon([record])
            throw error
        }
    }

    /// Runs `change` in a transaction and commits `record`, completed with what it changed, in it.
    func committing<T: Sendable>(
        _ record: AuditRecord, _ change: @Sendable (DatabaseTransaction) async throws -> T,
        audit complete: @escaping @Sendable (AuditRecord, T) -> AuditRecord
    ) async throws -> T {
        try await database.transaction { tx in
            let result = try await change(tx)
            try await audit.append([complete(record, result)], in: tx)
            return result
        }
    }

    // MARK: The care rules of a create (one place for plain creates and Bundles)

    /// A new resource must belong to patients the caller may write for. A patient a practitioner
    /// registers becomes theirs, and so do the resources about the patients they register in the
    /// same Bundle (`registering`), judged before anything of it is written: an Encounter in a
    /// Bundle does not grant its own care relationship.
    func requireCreatable(
        _ resource: JSONObject, type: String, id: String, limit: CompartmentLimit, access: RequestAccess,
        registering: Set<String> = [], on db: any SQLDatabase
    ) async throws {
        guard access.condition(limit, type: type) != nil else { return }
        // A practitioner registering a Patient needs no care of it yet; of every other patient
        // it names (`link`), they do.
        let registering = type == "Patient" && access.assignsCreatedPatients != nil ? registering.union(["Patient/\(id)"]) : registering
        let patients = compartment.patients(of: .object(resource), type: type, id: id)
        let others = patients.filter { !registering.contains($0) }
        if !patients.isEmpty && others.isEmpty { return }
        try await access.requireContent(limit, type, patients: others, on: db)
    }

    /// Whether creating this type records care in the create's transaction (`recordCare`).
    static func recordsCare(type: String, access: RequestAccess) -> Bool {
        (type == "Patient" && access.assignsCreatedPatients != nil) || (AccessPolicy.careTypes.contains(type) && !access.grantsCare)
    }

    /// What a create records besides the resource: the practitioner who registers a patient
    /// takes care of them; an Encounter or CareTeam written under break-glass or by a patient
    /// grants no care.
    func recordCare(ofCreated v: ResourceVersion, access: RequestAccess, in tx: DatabaseTransaction) async throws {
        if v.type == "Patient", let carer = access.assignsCreatedPatients { try await AccessPolicy.assign(practitioner: carer, patient: v.id, in: tx) }
        if !access.grantsCare && AccessPolicy.careTypes.contains(v.type) {
            try await AccessPolicy.noteCareWrite(type: v.type, id: v.id, grantsCare: false, in: tx)
        }
    }

    package func update(_ resource: JSONObject, type: String, id: String, ifMatch: Int?, access: RequestAccess, audit record: AuditRecord) async throws -> (
        ResourceVersion, created: Bool
    ) {
        try await committing(
            record, { tx in try await update(resource, type: type, id: id, ifMatch: ifMatch, access: access, in: tx) },
            audit: { [compartment] r, result in r.changed(result.0, created: result.created, compartment: compartment) })
    }

    package func conditionalUpdate(_ resource: JSONObject, type: String, query: String, ifMatch: Int?, access: RequestAccess, audit record: AuditRecord) async throws -> (
        ResourceVersion, created: Bool
    ) {
        try await committing(
            record, { tx in try await conditionalUpdate(resource, type: type, query: query, ifMatch: ifMatch, access: access, in: tx) },
            audit: { [compartment] r, result in r.changed(result.0, created: result.created, compartment: compartment) })
    }

    package func patch(_ patch: JSON, type: String, id: String, ifMatch: Int?, access: RequestAccess, audit record: AuditRecord) async throws -> ResourceVersion {
        try await committing(
            record, { tx in try await self.patch(patch, type: type, id: id, ifMatch: ifMatch, access: access, in: tx) },
            audit: { [compartment] r, v in r.changed(v, created: false, compartment: compartment) })
    }

    /// Returns the deletion version, nil when there was nothing to delete.
    package func delete(_ type: String, _ id: String, access: RequestAccess, audit record: AuditRecord) async throws -> ResourceVersion? {
        try await committing(
            record, { tx in try await delete(type, id, access: access, in: tx) },
            audit: { r, result in
                var r = r
                r.patients = result.patients
                return r
            }
        ).0
    }

    package func conditionalDelete(type: String, query: String, access: RequestAccess, audit record: AuditRecord) async throws {
        _ = try await committing(
            record, { tx in try await conditionalDelete(type: type, query: query, access: access, in: tx) },
            audit: { r, result in
                var r = r
                r.resources = result.0.map { [$0.reference] } ?? []
                r.patients = result.patients
                return r
            })
    }

    /// A page of history (`_since` as ms, newest first) under the request's access: the whole
    /// server only for a caller that sees everything; a type's versions each within the caller's
    /// limit (in the SQL); an instance's only when all its versions are.
    package func history(_ scope: ResourceStore.HistoryScope, since: Int64?, count: Int, offset: Int, access: RequestAccess) async throws -> (
        entries: [ResourceVersion], total: Int
    ) {
        switch scope {
        case .system:
            guard access.seesEverything else {
                throw AccessPolicy.forbidden("The history of the whole server needs a token that may read every resource (system/*.rs, or break-glass)")
            }
            return try await store.history(.system, since: since, count: count, offset: offset)
        case .type("AuditEvent"), .instance("AuditEvent", _):
            throw Self.noAuditHistory
        case .type(let type):
            let visible = access.historyCondition(try access.limit(type, .read), type: type)
            return try await store.history(scope, since: since, count: count, offset: offset, visible: visible)
        case .instance(let type, let id):
            let limit = try access.limit(type, .read)
            if access.condition(limit, type: type) != nil {
                try await database.read { db in try await access.require(limit, type, id, on: db) }
                let all = try await store.history(scope, since: nil, count: SearchRequest.maxCount, offset: 0).entries
                try await requireVersions(all.filter { !$0.deleted }, limit: limit, access: access)
            }
            guard try await store.read(type, id) != nil else { throw FHIRError.notFound(type, id) }
            return try await store.history(scope, since: since, count: count, offset: offset)
        }
    }

    /// A patient's whole record as the caller may see it: the Patient (read under the caller's
    /// access, so another patient's id is a 403 as on a read) and every current resource of the
    /// patient compartment of a type the caller may read. The basis of `Patient/$everything`
    /// (without its paging and parameters).
    package func everything(patient id: String, access: RequestAccess) async throws -> [ResourceVersion] {
        let patient = try await read("Patient", id, access: access)
        let readable = definitions.patientCompartment.filter { type, _ in type != "Patient" && (try? access.limit(type, .read)) != nil }
        return [patient] + (try await store.compartment(of: id, parameters: readable))
    }

    /// AuditEvents are written once and never change, so they have no history to page through.
    static let noAuditHistory = FHIRError(
        .badRequest, code: "not-supported", "AuditEvents have a single version and no history; search them at /fhir/AuditEvent (e.g. ?date=ge2026-01-01)")

    /// Whether a resource with this id exists and is not deleted (accounts link only to those).
    package func exists(_ type: String, _ id: String) async throws -> Bool {
        try await store.read(type, id).map { !$0.deleted } ?? false
    }

    // MARK: Steps in a caller's transaction

    func update(_ resource: JSONObject, type: String, id: String, ifMatch: Int?, access: RequestAccess, in tx: DatabaseTransaction) async throws -> (ResourceVersion, created: Bool)
    {
        try requireWritable(type)
        guard let bodyID = resource["id"]?.stringValue else {
            throw FHIRError(.badRequest, code: "required", "An update must carry the resource id", expression: ["\(type).id"])
        }
        guard bodyID == id else {
            throw FHIRError(.badRequest, code: "invalid", "The resource id does not match the id in the URL", expression: ["\(type).id"])
        }
        guard ResourceID.isValid(id) else { throw FHIRError.invalid("Invalid resource id in the URL") }
        try await checkWrite(resource, type: type, id: id, serverAssignedID: false, access: access, in: tx)
        return try await noted(store.update(resource, type: type, id: id, ifMatch: ifMatch, in: tx), \.0, access: access, in: tx)
    }

    /// Every update's last step: an Encounter or CareTeam written under break-glass or by a
    /// patient grants no care relationship, and one written by someone who may grant care
    /// grants it again.
    func noted<T: Sendable>(_ result: T, _ version: (T) -> ResourceVersion, access: RequestAccess, in tx: DatabaseTransaction) async throws -> T {
        let v = version(result)
        try await AccessPolicy.noteCareWrite(type: v.type, id: v.id, grantsCare: access.grantsCare, in: tx)
        return result
    }

    /// The access checks of an update: the resource as it is (if it exists) and as it will be
    /// must both be within the token's limit.
    /// A token limited to some patients may not create with an id of its choosing: answering 201
    /// for a free id and 403 for another patient's would tell it which ids exist, and reusing a
    /// deleted id would expose that resource's history.
    func checkWrite(_ resource: JSONObject, type: String, id: String, serverAssignedID: Bool, access: RequestAccess, in tx: DatabaseTransaction) async throws {
        try await tx.lock("resource:\(type)/\(id)")
        let current = try await store.read(type, id, on: tx.sql)
        let exists = current.map { !$0.deleted } ?? false
        let limit = try access.limit(type, exists ? .update : .create)
        guard access.condition(limit, type: type) != nil else { return }
        if !exists && !serverAssignedID { throw RequestAccess.outside(type, id) }
        if exists { try await access.require(limit, type, id, on: tx.sql) }
        try await access.requireContent(limit, type, patients: compartment.patients(of: .object(resource), type: type, id: id), on: tx.sql)
        if let current { try Self.requireSameIdentifiers(type, limit: limit, current: current, new: resource) }
    }

    /// A patient changes what their record says, not what identifies it: a medical record
    /// number taken over from another patient would make conditional references, If-None-Exist
    /// and imports match the wrong record.
    static func requireSameIdentifiers(_ type: String, limit: CompartmentLimit, current: ResourceVersion, new: JSONObject) throws {
        guard type == "Patient", case .patients = limit, !current.deleted, let content = current.content else { return }
        guard try JSON.parse(content)["identifier"] == new["identifier"] else {
            throw AccessPolicy.forbidden("A patient cannot change the identifiers of their own record; ask the practice")
        }
    }

    /// `PUT Type?query`: update the single match, or create when nothing matches.
    func conditionalUpdate(_ resource: JSONObject, type: String, query: String, ifMatch: Int?, access: RequestAccess, in tx: DatabaseTransaction) async throws -> (
        ResourceVersion, created: Bool
    ) {
        try requireWritable(type)
        try await tx.lock("create:\(type)?\(query)")
        let ids = try await search.matchingIDs(try searchRequest(type: type, query: query), limit: 2, access: access, for: .update, on: tx.sql)
        switch ids.count {
        case 0:
            let id = resource["id"]?.stringValue ?? ResourceID.generate()
            try await checkWrite(resource, type: type, id: id, serverAssignedID: resource["id"] == nil, access: access, in: tx)
            return try await noted(store.update(resource, type: type, id: id, ifMatch: nil, in: tx), \.0, access: access, in: tx)
        case 1:
            if let bodyID = resource["id"]?.stringValue, bodyID != ids[0] {
                throw FHIRError(.badRequest, code: "invalid", "The resource id does not match the resource the condition found", expression: ["\(type).id"])
            }
            var body = resource
            body["id"] = .string(ids[0])
            try await checkWrite(body, type: type, id: ids[0], serverAssignedID: false, access: access, in: tx)
            return try await noted(store.update(body, type: type, id: ids[0], ifMatch: ifMatch, in: tx), \.0, access: access, in: tx)
        default:
            throw FHIRError.preconditionFailed("The condition matched more than one \(type)")
        }
    }

    /// Deletes; returns the deletion version (nil when there was nothing) and the patients the
    /// deleted resource belonged to, for the audit record.
    func delete(_ type: String, _ id: String, access: RequestAccess, in tx: DatabaseTransaction) async throws -> (ResourceVersion?, patients: [String]) {
        try requireWritable(type)
        let limit = try access.limit(type, .delete)
        try await tx.lock("resource:\(type)/\(id)")
        try await access.require(limit, type, id, on: tx.sql)
        let patients = try await store.read(type, id, on: tx.sql).map(compartment.patients(of:)) ?? []
        return (try await store.delete(type, id, in: tx), patients)
    }

    /// `DELETE Type?query`: deletes the single match (nothing when none).
    func conditionalDelete(type: String, query: String, access: RequestAccess, in tx: DatabaseTransaction) async throws -> (ResourceVersion?, patients: [String]) {
        try requireWritable(type)
        _ = try access.limit(type, .delete)
        let ids = try await search.matchingIDs(try searchRequest(type: type, query: query), limit: 2, access: access, for: .delete, on: tx.sql)
        if ids.count > 1 { throw FHIRError.preconditionFailed("The condition matched more than one \(type)") }
        guard let id = ids.first else { return (nil, []) }
        return try await delete(type, id, access: access, in: tx)
    }

    func patch(_ patch: JSON, type: String, id: String, ifMatch: Int?, access: RequestAccess, in tx: DatabaseTransaction) async throws -> ResourceVersion {
        try requireWritable(type)
        let limit = try access.limit(type, .update)
        try await tx.lock("resource:\(type)/\(id)")
        try await access.require(limit, type, id, on: tx.sql)
        guard let current = try await store.read(type, id, on: tx.sql) else { throw FHIRError.notFound(type, id) }
        guard !current.deleted, let content = current.content else { throw FHIRError.gone(type, id) }
        if let ifMatch, ifMatch != current.version {
            throw FHIRError.preconditionFailed("Version conflict: If-Match is W/\"\(ifMatch)\" but the current version is W/\"\(current.version)\"")
        }
        let patched = try JSONPatch.apply(patch, to: try JSON.parse(content))
        let checked = try checkResource(patched, type: type, location: nil)
        guard checked["id"]?.stringValue == id else {
            throw FHIRError(.unprocessableContent, code: "invalid", "A patch may not change the resource id", expression: ["\(type).id"])
        }
        try await access.requireContent(limit, type, patients: compartment.patients(of: .object(checked), type: type, id: id), on: tx.sql)
        try Self.requireSameIdentifiers(type, limit: limit, current: current, new: checked)
        return try await noted(store.update(checked, type: type, id: id, ifMatch: current.version, in: tx).0, { $0 }, access: access, in: tx)
    }
}

extension FHIRService: CareRelationships {
    package func isInCare(patient: String, practitioner: String) async throws -> Bool {
        try await database.read { db in try await policy.permits(.careOf(practitioner: practitioner), type: "Patient", id: patient, on: db) }
    }
}
