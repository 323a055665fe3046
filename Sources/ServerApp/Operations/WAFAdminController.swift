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
///   one is configured (admin, backend client); 422 with every problem otherwise;
/// - `POST /api/waf/reload`: re-read the WAF file and geo database, as SIGHUP does.
struct WAFAdminController: Sendable {
    let runtime: WAFRuntime

    func register(on router: Router<AppRequestContext>) {
        router.get("api/waf") { _, context in
            try OperationsController.require(context, [.admin, .auditor, .system])
            return try Self.current(runtime)
        }
        router.put("api/waf") { request, context in
            try OperationsController.require(context, [.admin, .system])
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let persisted: Bool
            do throws(WAFConfigError) {
                persisted = try runtime.replace(with: Data(body.readableBytesView))
            } catch {
                return try OperationsController.json(["problems": error.problems], status: .unprocessableContent)
            }
            context.logger.notice("waf replaced through the admin API", metadata: ["agent": .string(context.principal?.reference ?? "unknown"), "persisted": .stringConvertible(persisted)])
            return try Self.current(runtime, persisted: persisted)
        }
        router.post("api/waf/reload") { _, context in
            try OperationsController.require(context, [.admin, .system])
            do throws(WAFConfigError) {
                try runtime.reload()
            } catch {
                return try OperationsController.json(["problems": error.problems], status: .unprocessableContent)
            }
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
