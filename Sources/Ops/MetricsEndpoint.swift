import Crypto
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import Telemetry

/// `GET /metrics`: the Prometheus text exposition. Open by default (it holds no patient data:
/// labels are route templates, status classes, rule ids); with `HEALTHHUB_METRICS_TOKEN` set,
/// only scrapers presenting that bearer token get it.
struct MetricsEndpoint: Sendable {
    let telemetry: Telemetry
    let token: String?

    /// Public as a route: the scrape token, when configured, is checked here.
    func register(on routes: RouteTable) {
        routes.publicRoutes.get("metrics") { request, _ in
            if let token, !Self.matches(request.headers[.authorization], token) {
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"metrics\""])
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: telemetry.exposition())))
        }
    }

    /// Constant-time comparison of the presented bearer token.
    static func matches(_ header: String?, _ token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let presented = SHA256.hash(data: Data(header.dropFirst(7).utf8))
        let expected = SHA256.hash(data: Data(token.utf8))
        return presented == expected
    }
}
