import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import Logging
import NIOCore

/// The WAF admin API (the same document as the WAF file):
/// - `GET /api/waf`: the configuration in force and match counts by rule (admin, auditor,
///   backend client);
/// - `PUT /api/waf`: a new document, validated, applied at once and written to the WAF file when
///   one is configured; 422 with every problem otherwise (signed-in admins only);
/// - `POST /api/waf/reload`: re-read the WAF file and geo database, as SIGHUP does (admins).
/// Changes are recorded in the audit trail.
struct WAFAdminController: Sendable {
    let runtime: WAFRuntime
    let audit: SecurityAudit

    func register(on routes: RouteTable) {
        let router = routes.identified
        router.get("api/waf") { _, context in
            try OperationsController.require(context, OperationsController.readers)
            return Self.current(runtime)
        }
        router.put("api/waf") { request, context in
            try OperationsController.require(context, OperationsController.operators)
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let persisted: Bool
            do throws(WAFConfigError) {
                persisted = try runtime.replace(with: Data(body.readableBytesView))
            } catch {
                await audit.operation("waf-replace", context, success: false, code: "invalid")
                return try OperationsController.json(["problems": error.problems], status: .unprocessableContent)
            }
            await audit.operation("waf-replace", context, success: true)
            context.logger.notice("waf replaced through the admin API", metadata: ["agent": .string(context.principal.reference), "persisted": .stringConvertible(persisted)])
            return Self.current(runtime, persisted: persisted)
        }
        router.post("api/waf/reload") { _, context in
            try OperationsController.require(context, OperationsController.operators)
            do throws(WAFConfigError) {
                try runtime.reload()
            } catch {
                await audit.operation("waf-reload", context, success: false, code: "invalid")
                return try OperationsController.json(["problems": error.problems], status: .unprocessableContent)
            }
            await audit.operation("waf-reload", context, success: true)
            return Self.current(runtime)
        }
    }

    static func current(_ runtime: WAFRuntime, persisted: Bool? = nil) -> Response {
        let waf = runtime.waf
        let matches = waf.matches
        var body: JSONObject = [
            "configuration": WAFConfigDocument.document(of: waf.configuration),
            "file": runtime.file.map(JSON.string) ?? .null,
            "geoDatabaseLoaded": .bool(runtime.geo != nil),
            "matches": .object(JSONObject(matches.keys.sorted().map { ($0, .int(matches[$0]!)) })),
        ]
        if let persisted { body["persisted"] = .bool(persisted) }
        return .json(.object(body))
    }
}
