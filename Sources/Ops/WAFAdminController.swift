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
            return try Self.current(runtime)
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
            return try Self.current(runtime, persisted: persisted)
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
            return try Self.current(runtime)
        }
    }

    static func current(_ runtime: WAFRuntime, persisted: Bool? = nil) throws -> Response {
        let waf = runtime.waf
        var body: [String: Any] = [
            "configuration": try JSONSerialization.jsonObject(with: WAFConfigDocument.document(of: waf.configuration)),
            "matches": waf.matches,
            "file": runtime.file ?? NSNull(),
            "geoDatabaseLoaded": runtime.geo != nil,
        ]
        if let persisted { body["persisted"] = persisted }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
