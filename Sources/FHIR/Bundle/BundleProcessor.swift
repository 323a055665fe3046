import Foundation
import HTTPTypes
import Kernel
import Storage

/// Batch and transaction Bundles (`POST /fhir`). A transaction runs in one database
/// transaction: all entries or none. Before anything is written, `ifNoneExist` conditions and
/// conditional references (`Practitioner?identifier=...`) are resolved and `urn:uuid:` fullUrls
/// are given ids, then every reference is rewritten and every resource validated.
package struct BundleProcessor: Sendable {
    let service: FHIRService

    package init(service: FHIRService) { self.service = service }

    package struct Options: Sendable {
        package var returnRepresentation = false
        /// This server's FHIR base URL as the client addresses it: an absolute `request.url`
        /// must start with it (either scheme). Nil for files being imported, whose absolute URLs
        /// name the server they came from.
        package var base: String?
        package init(returnRepresentation: Bool = false, base: String? = nil) {
            self.returnRepresentation = returnRepresentation
            self.base = base
        }
    }

    struct Entry {
        let index: Int
        let method: String
        let type: String
        let id: String?
        let query: String?
        let fullUrl: String?
        let ifNoneExist: String?
        let ifMatch: Int?
        var resource: JSONObject?
        /// `GET Type/id/_history/vid`: the version to read.
        var version: Int? = nil
    }

    /// `audit` describes who sent the Bundle; each entry is audited from it (in the transaction
    /// for changes; failures soon after).
    /// `access` is checked for every entry: scopes and role before anything runs, the patient
    /// compartment on every resource read or written (inside the transaction).
    package static let maxEntries = 50_000
    package static let maxReadEntries = 100

    package func process(_ bundle: JSON, options: Options = .init(), access: RequestAccess, audit: AuditRecord) async throws -> JSON {
        guard let object = bundle.objectValue, object["resourceType"]?.stringValue == "Bundle" else {
            throw FHIRError(.badRequest, code: "invalid", "POST to the base URL takes a Bundle")
        }
        let kind = object["type"]?.stringValue
        guard kind == "transaction" || kind == "batch" else {
            throw FHIRError(.badRequest, code: "invalid", "Bundle.type must be batch or transaction", expression: ["Bundle.type"])
        }
        let rawEntries = object["entry"]?.arrayValue ?? []
        // One request must not stand for unbounded work: a whole patient record fits in the
        // entry cap, and reads and searches (whose answers can be large) have their own.
        guard rawEntries.count <= Self.maxEntries else {
            throw FHIRError(.badRequest, code: "too-costly", "A Bundle takes at most \(Self.maxEntries) entries", expression: ["Bundle.entry"])
        }
        let reads = rawEntries.filter { ["GET", "HEAD"].contains($0["request"]?["method"]?.stringValue ?? "") }.count
        guard reads <= Self.maxReadEntries else {
            throw FHIRError(
                .badRequest, code: "too-costly", "A Bundle takes at most \(Self.maxReadEntries) GET or HEAD entries; send larger searches on their own",
                expression: ["Bundle.entry"])
        }
        if kind == "transaction" {
            do {
                let entries = try rawEntries.enumerated().map { i, e throws(FHIRError) in try parseEntry(e, index: i, base: options.base) }
                let responses = try await service.database.transaction { tx in
                    try await transaction(entries, options: options, access: access, audit: audit, in: tx)
                }
                return responseBundle("transaction-response", responses)
            } catch {
                var failed = audit
                failed.interaction = "transaction"
                failed.action = .execute
                failed.outcome = (error as? FHIRError).map { $0.status.code >= 500 ? .seriousFailure : .minorFailure } ?? .seriousFailure
                failed.outcomeCode = (error as? FHIRError)?.issues.first?.code
                try? await service.audit.appendSoon([failed])
                throw error
            }
        }
        var responses: [JSON] = []
        for (i, raw) in rawEntries.enumerated() {
            do {
                let entry = try parseEntry(raw, index: i, base: options.base)
                var entryAudit = audit
                entryAudit.interaction = "batch"
                let template = entryAudit
                let response = try await service.database.transaction { tx in
                    try await transaction([entry], options: options, access: access, audit: template, in: tx)[0]
                }
                responses.append(response)
            } catch {
                // Every entry gets its own answer; earlier entries are committed already.
                let fhirError = FHIRError.from(error, requestID: audit.requestID)
                var failed = audit
                failed.interaction = "batch"
                failed.action = .execute
                failed.outcome = fhirError.status.code >= 500 ? .seriousFailure : .minorFailure
                failed.outcomeCode = fhirError.issues.first?.code
                try? await service.audit.appendSoon([failed])
                responses.append(errorEntry(fhirError))
            }
        }
        return responseBundle("batch-response", responses)
    }

    func parseEntry(_ raw: JSON, index i: Int, base: String?) throws(FHIRError) -> Entry {
        let at = "Bundle.entry[\(i)]"
        guard let request = raw["request"]?.objectValue,
            let method = request["method"]?.stringValue, let url = request["url"]?.stringValue
        else {
            throw FHIRError(.badRequest, code: "required", "Each entry needs request.method and request.url", expression: ["\(at).request"])
        }
        guard ["GET", "POST", "PUT", "DELETE", "HEAD"].contains(method) else {
            throw FHIRError(.badRequest, code: "not-supported", "Method \(method.prefix(10)) is not supported in bundles", expression: ["\(at).request.method"])
        }
        var path = url
        if let scheme = path.range(of: "://") {
            func withoutScheme(_ s: String) -> String { s.range(of: "://").map { String(s[$0.upperBound...]) } ?? s }
            let here = base.map { withoutScheme($0) + "/" }
            let rest = String(path[scheme.upperBound...])
            if let here {
                guard rest.lowercased().hasPrefix(here.lowercased()) else {
                    throw FHIRError(
                        .badRequest, code: "not-supported", "request.url names another server; use a relative URL (Type, Type/id) or this server's base \(base ?? "")",
                        expression: ["\(at).request.url"])
                }
                path = String(rest.dropFirst(here.count))
            } else if let r = path.range(of: "/fhir/") {
                path = String(path[r.upperBound...])
            }
        }
        var query: String?
        if let q = path.firstIndex(of: "?") {
            query = String(path[path.index(after: q)...])
            path = String(path[..<q])
        }
        let segments = path.split(separator: "/").map(String.init)
        guard let type = segments.first, service.definitions.isResourceType(type) else {
            throw FHIRError(.badRequest, code: "not-supported", "request.url must start with a resource type", expression: ["\(at).request.url"])
        }
        if type == "AuditEvent" && (method == "GET" || method == "HEAD") {
            throw FHIRError(.badRequest, code: "not-supported", "Read and search AuditEvents at /fhir/AuditEvent, not in bundles", expression: ["\(at).request.url"])
        }
        if method != "GET" && method != "HEAD" {
            do { try service.requireWritable(type) } catch {
                var e = error
                e.issues = e.issues.map {
                    var issue = $0; issue.expression = ["\(at).request.url"]; return issue
                }
                throw e
            }
        }
        var resource: JSONObject?
        if method == "POST" || method == "PUT" {
            guard let r = raw["resource"]?.objectValue else {
                throw FHIRError(.badRequest, code: "required", "\(method) entries need a resource", expression: ["\(at).resource"])
            }
            guard r["resourceType"]?.stringValue == type else {
                throw FHIRError(.badRequest, code: "invalid", "The entry resource type does not match request.url", expression: ["\(at).resource"])
            }
            resource = r
        }
        // Type, Type/id, and for reads Type/id/_history/vid; anything else is refused rather
        // than read as something it does not say.
        var version: Int?
        if segments.count > 2 {
            guard method == "GET" || method == "HEAD", segments.count == 4, segments[2] == "_history", let v = Int(segments[3]), v > 0 else {
                throw FHIRError(
                    .badRequest, code: "not-supported", "request.url must be Type, Type/id or (to read a version) Type/id/_history/vid", expression: ["\(at).request.url"])
            }
            version = v
        }
        var ifMatch: Int?
        if let text = request["ifMatch"]?.stringValue {
            guard let v = ETag.version(text) else { throw FHIRError(.badRequest, code: "invalid", "ifMatch must be an ETag like W/\"3\"", expression: ["\(at).request.ifMatch"]) }
            ifMatch = v
        }
        return Entry(
            index: i, method: method, type: type, id: segments.count > 1 ? segments[1] : nil, query: query,
            fullUrl: raw["fullUrl"]?.stringValue, ifNoneExist: request["ifNoneExist"]?.stringValue, ifMatch: ifMatch, resource: resource,
            version: version)
    }

    /// Runs entries in the given transaction and returns their response entries in order.
    func transaction(_ input: [Entry], options: Options, access: RequestAccess, audit template: AuditRecord, in tx: DatabaseTransaction) async throws -> [JSON] {
        var entries = input
        var audits: [AuditRecord] = []
        func audited(_ interaction: String, _ action: AuditRecord.Action, _ version: ResourceVersion?, patients: [String]? = nil, query: String? = nil) {
            var r = template
            r.interaction = interaction
            r.action = action
            r.resources = version.map { [$0.reference] } ?? []
            r.patients = patients ?? version.map(service.compartment.patients(of:)) ?? []
            r.query = query
            audits.append(r)
        }
        // Responses by the entry's index in the Bundle (a batch runs entries one at a time).
        var responses: [Int: JSON] = [:]
        var references: [String: String] = [:]  // fullUrl -> Type/id
        var existing: Set<Int> = []  // POST entries satisfied by ifNoneExist
        var newIDs: [Int: String] = [:]

        // 0. A transaction may touch each resource once (FHIR: overlapping entries are an error).
        var touched: [String: Int] = [:]
        for e in entries where e.method != "GET" && e.method != "HEAD" {
            guard let id = e.id else { continue }
            if let other = touched["\(e.type)/\(id)"] {
                throw at(e, FHIRError.conflict("Entries \(other) and \(e.index) both change \(e.type)/\(id)"))
            }
            touched["\(e.type)/\(id)"] = e.index
        }

        // 0b. Scopes and role must allow every entry before anything runs.
        var limits: [Int: CompartmentLimit] = [:]
        for e in entries {
            let permission: Permission =
                switch e.method {
                case "POST": .create
                case "PUT": .update
                case "DELETE": .delete
                default: e.id == nil ? .search : .read
                }
            limits[e.index] = try at(e) { () throws(FHIRError) in try access.limit(e.type, permission) }
        }

        // 1. Ids for creates, and ifNoneExist matches.
        for e in entries where e.method == "POST" {
            if let cond = e.ifNoneExist, !cond.isEmpty {
                let query = cond.hasPrefix("\(e.type)?") ? String(cond.dropFirst(e.type.count + 1)) : cond.hasPrefix("?") ? String(cond.dropFirst()) : cond
                // Same lock as POST with If-None-Exist: concurrent bundles create one resource.
                try await tx.lock("create:\(e.type)?\(query)")
                let ids = try await service.search.matchingIDs(
                    try at(e) { () throws(FHIRError) in try service.searchRequest(type: e.type, query: query) }, limit: 2, access: access, for: .create, on: tx.sql)
                if ids.count > 1 { throw at(e, FHIRError.preconditionFailed("ifNoneExist matched more than one \(e.type)")) }
                if let id = ids.first {
                    existing.insert(e.index)
                    newIDs[e.index] = id
                    if let f = e.fullUrl { references[f] = "\(e.type)/\(id)" }
                    continue
                }
            }
            let id = ResourceID.generate()
            newIDs[e.index] = id
            if let f = e.fullUrl { references[f] = "\(e.type)/\(id)" }
        }
        // Conditional updates are resolved now too, so entries can refer to them by fullUrl.
        var putIDs: [Int: String] = [:]
        for e in entries where e.method == "PUT" {
            if let id = e.id {
                putIDs[e.index] = id
            } else if let q = e.query {
                try await tx.lock("create:\(e.type)?\(q)")
                let request = try at(e) { () throws(FHIRError) in try service.searchRequest(type: e.type, query: q) }
                let ids = try await service.search.matchingIDs(request, limit: 2, access: access, for: .update, on: tx.sql)
                if ids.count > 1 { throw at(e, FHIRError.preconditionFailed("The condition matched more than one \(e.type)")) }
                putIDs[e.index] = ids.first ?? e.resource?["id"]?.stringValue ?? ResourceID.generate()
            }
            if let id = putIDs[e.index], let f = e.fullUrl { references[f] = "\(e.type)/\(id)" }
        }

        // 2. Rewrite references: urn:uuid / fullUrl targets and conditional references.
        var conditional: [String: String] = [:]
        for i in entries.indices {
            guard var resource = entries[i].resource else { continue }
            var unresolved: [String] = []
            resource = rewrite(.object(resource), references, conditional, &unresolved).objectValue!
            if !unresolved.isEmpty {
                for ref in Set(unresolved) where conditional[ref] == nil {
                    conditional[ref] = try await resolveConditional(ref, entry: entries[i], access: access, tx: tx)
                }
                var none: [String] = []
                resource = rewrite(.object(resource), references, conditional, &none).objectValue!
            }
            entries[i].resource = resource
        }

        // 3. Validate everything before writing anything.
        for i in entries.indices {
            guard let resource = entries[i].resource else { continue }
            var checked = resource
            if entries[i].method == "POST" { checked["id"] = nil }
            entries[i].resource = try service.checkResource(.object(checked), type: entries[i].type, location: "Bundle.entry[\(entries[i].index)].resource")
        }

        // 4. Execute in FHIR order: DELETE, POST, PUT, GET.
        for e in entries where e.method == "DELETE" {
            let deleted: (ResourceVersion?, patients: [String])
            if let id = e.id {
                deleted = try await at(e) { try await service.delete(e.type, id, access: access, in: tx) }
            } else if let q = e.query {
                deleted = try await at(e) { try await service.conditionalDelete(type: e.type, query: q, access: access, in: tx) }
            } else {
                throw at(e, .invalid("DELETE needs an id or a condition"))
            }
            audited("delete", .delete, deleted.0, patients: deleted.patients)
            responses[e.index] = responseEntry(status: "204 No Content", version: deleted.0, resource: nil)
        }
        let creates = entries.filter { $0.method == "POST" && !existing.contains($0.index) }
        // The same care rules as a plain create, every new resource judged before anything of
        // this bundle is written; patients a practitioner registers in it count as theirs.
        let registering = access.assignsCreatedPatients == nil ? Set<String>() : Set(creates.filter { $0.type == "Patient" }.compactMap { "Patient/" + newIDs[$0.index]! })
        for e in creates {
            try await at(e) {
                try await service.requireCreatable(
                    e.resource!, type: e.type, id: newIDs[e.index]!, limit: limits[e.index] ?? .unrestricted, access: access,
                    registering: registering, on: tx.sql)
            }
        }
        let created = try await service.store.createMany(creates.map { ($0.type, newIDs[$0.index]!, $0.resource!) }, in: tx)
        for v in created { try await service.recordCare(ofCreated: v, access: access, in: tx) }
        for (e, v) in zip(creates, created) {
            audited("create", .create, v)
            responses[e.index] = responseEntry(status: "201 Created", version: v, resource: options.returnRepresentation ? v : nil)
        }
        for e in entries where e.method == "POST" && existing.contains(e.index) {
            let v = try await service.store.read(e.type, newIDs[e.index]!, on: tx.sql)
            audited("read", .read, v)
            responses[e.index] = responseEntry(status: "200 OK", version: v, resource: options.returnRepresentation ? v : nil)
        }
        for e in entries where e.method == "PUT" {
            guard let id = putIDs[e.index] else { throw at(e, .invalid("PUT needs an id or a condition")) }
            var resource = e.resource!
            if e.id == nil {
                if let bodyID = resource["id"]?.stringValue, bodyID != id {
                    throw at(e, FHIRError(.badRequest, code: "invalid", "The resource id does not match the resource the condition found"))
                }
                resource["id"] = .string(id)
            }
            let body = resource
            let result = try await at(e) { try await service.update(body, type: e.type, id: id, ifMatch: e.ifMatch, access: access, in: tx) }
            audited(result.created ? "create" : "update", result.created ? .create : .update, result.0)
            responses[e.index] = responseEntry(status: result.created ? "201 Created" : "200 OK", version: result.0, resource: options.returnRepresentation ? result.0 : nil)
        }
        for e in entries where e.method == "GET" || e.method == "HEAD" {
            if let id = e.id {
                let v = try await at(e) { () async throws -> ResourceVersion in
                    if let version = e.version { return try await service.vread(e.type, id, version: String(version), access: access) }
                    try await access.require(limits[e.index] ?? .unrestricted, e.type, id, on: tx.sql)
                    guard let v = try await service.store.read(e.type, id, on: tx.sql) else { throw FHIRError.notFound(e.type, id) }
                    if v.deleted { throw FHIRError.gone(e.type, id) }
                    return v
                }
                audited(e.version == nil ? "read" : "vread", .read, v)
                responses[e.index] = responseEntry(status: "200 OK", version: v, resource: e.method == "GET" ? v : nil)
            } else {
                let request = try at(e) { () throws(FHIRError) in try service.searchRequest(type: e.type, query: e.query ?? "", strict: false) }
                let result = try await at(e) { try await service.search.search(request, access: access, on: tx.sql) }
                var patients: [String] = []
                for v in result.matches + result.included { patients += service.compartment.patients(of: v).filter { !patients.contains($0) } }
                audited("search-type", .execute, nil, patients: patients, query: "\(e.type)?\(e.query ?? "")")
                var o = JSONObject()
                o["response"] = .object(JSONObject([("status", .string("200 OK"))]))
                o["resource"] = SearchBundle.json(request: request, result: result, base: "")
                responses[e.index] = .object(o)
            }
        }
        if template.interaction == "batch" {
            // A batch entry is its own interaction, audited as such.
            try await service.audit.append(audits, in: tx)
        } else {
            // A transaction (or an import) is one event naming every patient it touched.
            var r = template
            r.action = .execute
            var seen = Set<String>()
            r.patients = audits.flatMap(\.patients).filter { seen.insert($0).inserted }
            try await service.audit.append([r], in: tx)
        }
        return entries.map { responses[$0.index] ?? .null }
    }

    /// Resolves `Type?query` to exactly one resource, or fails the transaction.
    func resolveConditional(_ reference: String, entry: Entry, access: RequestAccess, tx: DatabaseTransaction) async throws -> String {
        let parts = reference.split(separator: "?", maxSplits: 1).map(String.init)
        guard parts.count == 2, service.definitions.isResourceType(parts[0]) else {
            throw at(entry, FHIRError(.badRequest, code: "invalid", "Conditional reference must be Type?query"))
        }
        let request = try at(entry) { () throws(FHIRError) in try service.searchRequest(type: parts[0], query: parts[1]) }
        let ids = try await service.search.matchingIDs(request, limit: 2, access: access, for: .read, on: tx.sql)
        guard ids.count == 1 else {
            throw at(entry, FHIRError.preconditionFailed("Conditional reference \(parts[0])?… matched \(ids.count == 0 ? "no" : "more than one") resource"))
        }
        return "\(parts[0])/\(ids[0])"
    }

    /// Rewrites every `reference` value that names a bundle entry or a resolved condition;
    /// collects conditional references not yet resolved.
    func rewrite(_ value: JSON, _ refs: [String: String], _ conditional: [String: String], _ unresolved: inout [String]) -> JSON {
        switch value {
        case .object(var o):
            for (k, v) in o.entries {
                if k == "reference", case .string(let s) = v {
                    if let target = refs[s] ?? conditional[s] {
                        o[k] = .string(target)
                    } else if s.contains("?"), !s.hasPrefix("http"), !s.hasPrefix("#") {
                        unresolved.append(s)
                    }
                } else if case .object = v {
                    o[k] = rewrite(v, refs, conditional, &unresolved)
                } else if case .array = v {
                    o[k] = rewrite(v, refs, conditional, &unresolved)
                }
            }
            return .object(o)
        case .array(let items):
            return .array(items.map { rewrite($0, refs, conditional, &unresolved) })
        default:
            return value
        }
    }

    /// Points an error at its entry.
    func at(_ entry: Entry, _ error: FHIRError) -> FHIRError {
        var e = error
        let loc = "Bundle.entry[\(entry.index)]"
        e.issues = e.issues.map { issue in
            var i = issue
            if i.expression.isEmpty { i.expression = [loc] }
            i.diagnostics = "Entry \(entry.index) (\(entry.method) \(entry.type)): " + i.diagnostics
            return i
        }
        return e
    }

    func at<T>(_ entry: Entry, _ body: () throws(FHIRError) -> T) throws(FHIRError) -> T {
        do { return try body() } catch { throw at(entry, error) }
    }

    func at<T>(_ entry: Entry, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as FHIRError { throw at(entry, error) }
    }

    func responseEntry(status: String, version: ResourceVersion?, resource: ResourceVersion?) -> JSON {
        var response = JSONObject()
        response["status"] = .string(status)
        if let v = version {
            if !v.deleted { response["location"] = .string("\(v.type)/\(v.id)/_history/\(v.version)") }
            response["etag"] = .string(v.etag)
            response["lastModified"] = .string(Instant.format(millis: v.lastUpdated))
        }
        var o = JSONObject()
        if let r = resource, let content = r.content, let json = try? JSON.parse(content) {
            o["fullUrl"] = .string("\(r.type)/\(r.id)")
            o["resource"] = json
        }
        o["response"] = .object(response)
        return .object(o)
    }

    func errorEntry(_ error: FHIRError) -> JSON {
        var response = JSONObject()
        response["status"] = .string("\(error.status.code) \(error.status.reasonPhrase)")
        response["outcome"] = OperationOutcome.json(error.issues)
        return .object(JSONObject([("response", .object(response))]))
    }

    func responseBundle(_ type: String, _ entries: [JSON]) -> JSON {
        .object(
            JSONObject([
                ("resourceType", .string("Bundle")),
                ("id", .string(ResourceID.generate())),
                ("type", .string(type)),
                ("entry", .array(entries)),
            ]))
    }
}

/// Weak ETags: `W/"3"` -> 3 (also accepts `"3"` and `3`).
package enum ETag {
    package static func version(_ text: String) -> Int? {
        var t = Substring(text.trimmingCharacters(in: .whitespaces))
        if t.hasPrefix("W/") { t = t.dropFirst(2) }
        if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = t.dropFirst().dropLast() }
        return Int(t).flatMap { $0 > 0 ? $0 : nil }
    }
}
