import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import Logging
import NIOCore

/// The FHIR REST API at `/fhir`. Handlers decode the HTTP request, call `FHIRService` and build
/// the response; FHIR rules live in the service.
package struct FHIRController: Sendable {
    let service: FHIRService
    let bundles: BundleProcessor
    let capabilityStatement: [UInt8]
    /// Public base URL of the API (e.g. `https://fhir.example.org/fhir`); when nil it is derived
    /// from the request's Host header.
    let publicBaseURL: String?
    /// The operations: FHIR's own (`$everything`) and those other modules provide
    /// (`FHIROperation`), by `Type/$code` or `Type/id/$code`.
    let operations: [any FHIROperation]
    let operationIndex: [String: any FHIROperation]

    package init(service: FHIRService, publicBaseURL: String?, operations: [any FHIROperation] = []) {
        let operations = [EverythingOperation()] + operations
        self.service = service
        self.bundles = BundleProcessor(service: service)
        self.capabilityStatement = CapabilityStatementBuilder(definitions: service.definitions, registry: service.registry)
            .build(operations: operations).serialized()
        self.publicBaseURL = publicBaseURL
        self.operations = operations
        self.operationIndex = Dictionary(operations.map { (Self.operationKey($0.resourceType, $0.onInstance, $0.code), $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func operationKey(_ type: String, _ instance: Bool, _ code: String) -> String { instance ? "\(type)/id/$\(code)" : "\(type)/$\(code)" }

    /// Registers the API: the CapabilityStatement is public, every other route needs an identity.
    package func register(on routes: RouteTable) {
        let definitions = routes.publicRoutes.group("fhir").add(middleware: FHIRErrorMiddleware<AppRequestContext>())
        definitions.get("metadata") { _, _ in self.fhirResponse(.ok, self.capabilityStatement) }
        let fhir = routes.identified.group("fhir").add(middleware: FHIRErrorMiddleware<IdentifiedRequestContext>())
        // Operations: `$code` is a constant segment under `:type` (or `:type/:id`), so it takes
        // precedence over `:id` (or `_history`) without shadowing the type's other routes (a
        // constant `Appointment` segment would). The handler picks the type's operation.
        // (GET is routed for every operation; one that changes state answers it with 405.)
        var paths: [String: Bool] = [:]
        for op in operations {
            paths[op.onInstance ? ":type/:id/$\(op.code)" : ":type/$\(op.code)"] = op.onInstance
            // what the operation takes and returns is public, like the CapabilityStatement
            let definition = op.definition.serialized()
            if let id = op.definition["id"]?.stringValue {
                definitions.get(RouterPath("OperationDefinition/\(id)")) { _, _ in self.fhirResponse(.ok, definition) }
            }
        }
        for (path, instance) in paths.sorted(by: { $0.key < $1.key }) {
            let code = String(path.split(separator: "$").last ?? "")
            fhir.post(RouterPath(path)) { request, context in try await self.operation(code, instance: instance, request, context) }
            fhir.get(RouterPath(path)) { request, context in try await self.operation(code, instance: instance, request, context) }
        }
        fhir.post("", use: transaction)
        fhir.get("_history", use: systemHistory)
        fhir.get(":type", use: searchType)
        fhir.post(":type", use: create)
        fhir.put(":type", use: conditionalUpdate)
        fhir.delete(":type", use: conditionalDelete)
        fhir.post(":type/_search", use: searchPost)
        fhir.get(":type/_history", use: typeHistory)
        fhir.get(":type/:id", use: read)
        fhir.put(":type/:id", use: update)
        fhir.delete(":type/:id", use: delete)
        fhir.patch(":type/:id", use: patch)
        fhir.get(":type/:id/_history", use: instanceHistory)
        fhir.get(":type/:id/_history/:vid", use: vread)
        // Known paths, unsupported methods: 405 with an OperationOutcome (not a bare 404).
        for path in ["metadata", ":type/:id/_history", ":type/:id/_history/:vid", ":type/_history", ":type/_search"] {
            for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
                if path == ":type/_search" && method == .post { continue }
                fhir.on(RouterPath(path), method: method) { request, _ -> Response in throw Self.methodNotAllowed(request) }
            }
        }
        fhir.post(":type/:id") { request, _ -> Response in throw Self.methodNotAllowed(request) }
        fhir.patch(":type") { request, _ -> Response in throw Self.methodNotAllowed(request) }
    }

    static func methodNotAllowed(_ request: Request) -> FHIRError {
        FHIRError(.methodNotAllowed, code: "not-supported", "\(request.method.rawValue) is not allowed on this URL")
    }

    // MARK: Handlers

    /// An operation call: input from the query or a Parameters body, audited as `operation`
    /// with the operation's path as the record's query.
    func operation(_ code: String, instance: Bool, _ request: Request, _ context: IdentifiedRequestContext) async throws -> Response {
        let type = try typeParameter(context)
        guard let op = operationIndex[Self.operationKey(type, instance, code)] else {
            throw FHIRError(.notFound, code: "not-supported", "\(type) has no operation $\(code.prefix(40))")
        }
        guard request.method == .post || !op.affectsState else { throw Self.methodNotAllowed(request) }
        let id = op.onInstance ? context.parameters.get("id") ?? "" : nil
        var record = auditRecord("operation", op.affectsState ? .execute : .read, request, context)
        record.query = FHIRService.operationPath(op, id: id)
        // (a body that cannot be read is audited as the failed call; `invoke` audits the rest)
        let input = try await service.audited(record, committed: true) { _ in
            var input = OperationInput(query: request.uri.query ?? "")
            if request.method == .post {
                let body = try await jsonBody(request, context: context)
                if !body.isEmpty {
                    let parameters = try service.decodeResource(body, type: "Parameters")
                    input = OperationInput(values: input.values + (try OperationInput(parameters: .object(parameters))).values)
                }
            }
            return input
        }
        let result = try await service.invoke(op, id: id, input: input, access: access(context), base: base(request), record: record)
        return fhirResponse(result.status, result.body.serialized())
    }

    @Sendable func read(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("read", .read, request, context) { record in
            let (type, id) = try typeAndID(context)
            record.resources = ["\(type)/\(id)"]
            let v = try await service.read(type, id, access: access(context))
            record.patients = service.compartment.patients(of: v)
            return resourceResponse(v, status: .ok, request: request, context: context, location: false)
        }
    }

    @Sendable func vread(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("vread", .read, request, context) { record in
            let (type, id) = try typeAndID(context)
            record.resources = ["\(type)/\(id)"]
            let v = try await service.vread(type, id, version: context.parameters.get("vid") ?? "", access: access(context))
            record.patients = service.compartment.patients(of: v)
            return resourceResponse(v, status: .ok, request: request, context: context, location: false)
        }
    }

    @Sendable func create(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("create", .create, request, context, committed: true) { record in
            let type = try typeParameter(context)
            try service.requireWritable(type)
            let body = try await jsonBody(request, context: context)
            let resource = try service.decodeResource(body, type: type)
            let ifNoneExist = request.headers[.ifNoneExist]
            let (v, created) = try await service.create(resource, type: type, ifNoneExist: ifNoneExist, access: access(context), audit: record)
            return resourceResponse(v, status: created ? .created : .ok, request: request, context: context, location: true)
        }
    }

    @Sendable func update(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("update", .update, request, context, committed: true) { record in
            let (type, id) = try typeAndID(context)
            record.resources = ["\(type)/\(id)"]
            let (resource, ifMatch) = try await updateBody(request, context, type: type)
            let (v, created) = try await service.update(resource, type: type, id: id, ifMatch: ifMatch, access: access(context), audit: record)
            return resourceResponse(v, status: created ? .created : .ok, request: request, context: context, location: true)
        }
    }

    @Sendable func conditionalUpdate(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("update", .update, request, context, committed: true) { record in
            let type = try typeParameter(context)
            let query = try conditionQuery(request)
            record.query = "\(type)?\(query)"
            let (resource, ifMatch) = try await updateBody(request, context, type: type)
            let (v, created) = try await service.conditionalUpdate(resource, type: type, query: query, ifMatch: ifMatch, access: access(context), audit: record)
            return resourceResponse(v, status: created ? .created : .ok, request: request, context: context, location: true)
        }
    }

    /// The body of both updates, decoded and validated, and the If-Match version.
    private func updateBody(_ request: Request, _ context: IdentifiedRequestContext, type: String) async throws -> (JSONObject, Int?) {
        try service.requireWritable(type)
        let body = try await jsonBody(request, context: context)
        return (try service.decodeResource(body, type: type), try ifMatchVersion(request))
    }

    @Sendable func patch(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("patch", .update, request, context, committed: true) { record in
            let (type, id) = try typeAndID(context)
            record.resources = ["\(type)/\(id)"]
            try service.requireWritable(type)
            let contentType = request.headers[.contentType] ?? ""
            guard contentType.hasPrefix("application/json-patch+json") else {
                throw FHIRError(.unsupportedMediaType, code: "not-supported", "PATCH takes application/json-patch+json")
            }
            let buffer = try await request.body.collect(upTo: context.maxUploadSize)
            let patch: JSON
            do { patch = try JSON.parse(buffer.readableBytesView) } catch let error as JSONSyntaxError {
                throw FHIRError(.badRequest, code: "structure", "The patch is not valid JSON: \(error.description)")
            }
            let v = try await service.patch(patch, type: type, id: id, ifMatch: try ifMatchVersion(request), access: access(context), audit: record)
            return resourceResponse(v, status: .ok, request: request, context: context, location: false)
        }
    }

    @Sendable func delete(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("delete", .delete, request, context, committed: true) { record in
            let (type, id) = try typeAndID(context)
            record.resources = ["\(type)/\(id)"]
            let deleted = try await service.delete(type, id, access: access(context), audit: record)
            var headers = HTTPFields()
            if let deleted { headers[.eTag] = deleted.etag }
            return Response(status: .noContent, headers: headers)
        }
    }

    @Sendable func conditionalDelete(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("delete", .delete, request, context, committed: true) { record in
            let type = try typeParameter(context)
            let query = try conditionQuery(request)
            record.query = "\(type)?\(query)"
            try await service.conditionalDelete(type: type, query: query, access: access(context), audit: record)
            return Response(status: .noContent)
        }
    }

    @Sendable func searchType(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await search(type: try typeParameter(context), query: request.uri.query ?? "", request: request, context: context)
    }

    @Sendable func searchPost(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        let type = context.parameters.get("type") ?? ""
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            return try await audited("search-type", .execute, request, context) { _ in
                throw FHIRError(.unsupportedMediaType, code: "not-supported", "POST _search takes application/x-www-form-urlencoded")
            }
        }
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let form = String(buffer: buffer)
        let query = [request.uri.query ?? "", form].filter { !$0.isEmpty }.joined(separator: "&")
        return try await search(type: type, query: query, request: request, context: context)
    }

    func search(type: String, query: String, request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("search-type", .execute, request, context) { record in
            record.query = "\(type)?\(query)"
            try service.requireType(type)
            let strict = Prefer(request.headers[.prefer]).handlingStrict
            let searchRequest = try SearchRequest(type: type, pairs: QueryString.decode(query), registry: service.registry, strict: strict)
            let result = try await service.search(searchRequest, access: access(context))
            record.patients = patients(of: result.matches + result.included)
            return fhirResponse(.ok, SearchBundle.bytes(request: searchRequest, result: result, base: base(request), definitions: service.definitions))
        }
    }

    @Sendable func transaction(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        let bundle: JSON
        do {
            bundle = try JSON.parse(try await jsonBody(request, context: context))
        } catch {
            // Refused before the Bundle processor, which audits everything after this point.
            return try await audited("transaction", .execute, request, context) { _ in
                if let syntax = error as? JSONSyntaxError {
                    throw FHIRError(.badRequest, code: "structure", "The body is not valid JSON: \(syntax.description)")
                }
                throw error
            }
        }
        let prefer = Prefer(request.headers[.prefer])
        let response = try await bundles.process(
            bundle, options: .init(returnRepresentation: prefer.returnMode == "representation", base: base(request)),
            access: access(context), audit: auditRecord("transaction", .execute, request, context))
        return fhirResponse(.ok, response.serialized())
    }

    @Sendable func systemHistory(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("history-system", .read, request, context) { record in
            try await history(.system, path: "_history", request: request, context: context, record: &record)
        }
    }

    @Sendable func typeHistory(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("history-type", .read, request, context) { record in
            let type = try typeParameter(context)
            return try await history(.type(type), path: "\(type)/_history", request: request, context: context, record: &record)
        }
    }

    @Sendable func instanceHistory(_ request: Request, context: IdentifiedRequestContext) async throws -> Response {
        try await audited("history-instance", .read, request, context) { record in
            let (type, id) = try typeAndID(context)
            record.resources = ["\(type)/\(id)"]
            return try await history(.instance(type, id), path: "\(type)/\(id)/_history", request: request, context: context, record: &record)
        }
    }

    func history(_ scope: ResourceStore.HistoryScope, path: String, request: Request, context: IdentifiedRequestContext, record: inout AuditRecord) async throws -> Response {
        let params = Dictionary(QueryString.decode(request.uri.query ?? ""), uniquingKeysWith: { $1 })
        var since: Int64?
        if let text = params["_since"] {
            guard let r = DateRange(text) else { throw FHIRError.invalid("_since must be an instant, e.g. 2026-01-01T00:00:00Z") }
            since = r.low
        }
        let count = min(max(try params["_count"].map { v throws(FHIRError) in try SearchRequest.paging("_count", v) } ?? 50, 1), SearchRequest.maxCount)
        let offset = try params["_offset"].map { v throws(FHIRError) in try SearchRequest.paging("_offset", v) } ?? 0
        let (entries, total) = try await service.history(scope, since: since, count: count, offset: offset, access: access(context))
        record.patients = patients(of: entries)
        let base = base(request)
        func url(_ o: Int) -> String {
            var q: [(String, String)] = [("_count", String(count)), ("_offset", String(o))]
            if let s = params["_since"] { q.insert(("_since", s), at: 0) }
            return "\(base)/\(path)?" + QueryString.encode(q)
        }
        let body = SearchBundle.history(
            entries, total: total, base: base, selfURL: url(offset),
            next: offset + count < total ? url(offset + count) : nil,
            previous: offset > 0 ? url(max(0, offset - count)) : nil)
        return fhirResponse(.ok, body)
    }

    // MARK: Audit

    /// The audit record of this request before the interaction fills in what it touched.
    func auditRecord(_ interaction: String, _ action: AuditRecord.Action, _ request: Request, _ context: IdentifiedRequestContext) -> AuditRecord {
        var record = AuditRecord(
            action: action, interaction: interaction, agent: "anonymous",
            networkAddress: context.remoteAddress, requestID: context.requestID)
        record.setAgent(context.principal)
        return record
    }

    func access(_ context: IdentifiedRequestContext) -> RequestAccess {
        RequestAccess(principal: context.principal, policy: service.policy)
    }

    /// Runs an interaction and audits it through the service (see `FHIRService.audited`).
    func audited(
        _ interaction: String, _ action: AuditRecord.Action, _ request: Request, _ context: IdentifiedRequestContext,
        committed: Bool = false, _ body: (inout AuditRecord) async throws -> Response
    ) async throws -> Response {
        try await service.audited(auditRecord(interaction, action, request, context), committed: committed, body)
    }

    func patients(of versions: [ResourceVersion]) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for v in versions {
            for p in service.compartment.patients(of: v) where seen.insert(p).inserted { out.append(p) }
        }
        return out
    }

    // MARK: Helpers

    func typeParameter(_ context: IdentifiedRequestContext) throws(FHIRError) -> String {
        let type = context.parameters.get("type") ?? ""
        try service.requireType(type)
        return type
    }

    func typeAndID(_ context: IdentifiedRequestContext) throws(FHIRError) -> (String, String) {
        let type = try typeParameter(context)
        let id = context.parameters.get("id") ?? ""
        guard ResourceID.isValid(id) else { throw FHIRError.invalid("'\(id.prefix(70))' is not a valid resource id") }
        return (type, id)
    }

    func conditionQuery(_ request: Request) throws(FHIRError) -> String {
        guard let query = request.uri.query, !query.isEmpty else {
            throw FHIRError(.methodNotAllowed, code: "not-supported", "\(request.method.rawValue) on a type needs search parameters (a conditional interaction)")
        }
        return query
    }

    func ifMatchVersion(_ request: Request) throws(FHIRError) -> Int? {
        guard let text = request.headers[.ifMatch] else { return nil }
        guard let v = ETag.version(text) else { throw FHIRError.invalid("If-Match must be an ETag like W/\"3\"") }
        return v
    }

    func jsonBody(_ request: Request, context: IdentifiedRequestContext) async throws -> ByteBufferView {
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        if contentType.contains("xml") {
            throw FHIRError(.unsupportedMediaType, code: "not-supported", "XML is not supported; send application/fhir+json")
        }
        guard contentType.isEmpty || contentType.hasPrefix("application/fhir+json") || contentType.hasPrefix("application/json") else {
            throw FHIRError(.unsupportedMediaType, code: "not-supported", "Content-Type must be application/fhir+json")
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return buffer.readableBytesView
    }

    func base(_ request: Request) -> String {
        if let publicBaseURL { return publicBaseURL }
        let host = request.head.authority ?? "localhost"
        return "http://\(host)/fhir"
    }

    func resourceResponse(_ v: ResourceVersion, status: HTTPResponse.Status, request: Request, context: IdentifiedRequestContext, location: Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = FHIRMedia.fhirJSON
        headers[.eTag] = v.etag
        headers[.lastModified] = Instant.httpDate(millis: v.lastUpdated)
        if location { headers[.location] = "\(base(request))/\(v.type)/\(v.id)/_history/\(v.version)" }
        switch Prefer(request.headers[.prefer]).returnMode {
        case "minimal" where request.method != .get:
            headers[.contentType] = nil
            return Response(status: status, headers: headers)
        case "OperationOutcome" where request.method != .get:
            let outcome = OperationOutcome.json([OutcomeIssue(.information, "informational", "\(v.type)/\(v.id) version \(v.version) stored")])
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: outcome.serialized())))
        default:
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: v.content ?? Data())))
        }
    }

    func fhirResponse(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: FHIRMedia.fhirJSON], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The `Prefer` request header (RFC 7240) as FHIR uses it.
struct Prefer {
    var returnMode: String?
    var handlingStrict = false

    init(_ header: String?) {
        for part in (header ?? "").split(separator: ",") + (header ?? "").split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { continue }
            if kv[0] == "return" { returnMode = kv[1] }
            if kv[0] == "handling" { handlingStrict = kv[1] == "strict" }
        }
    }
}

extension HTTPField.Name {
    static let ifNoneExist = HTTPField.Name("If-None-Exist")!
    static let prefer = HTTPField.Name("Prefer")!
}
