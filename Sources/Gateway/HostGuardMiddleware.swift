import HTTPTypes
import Hummingbird
import NIOCore

/// Without a configured public base URL, HealthHub derives its OAuth issuer and the audience of
/// its tokens from the request's `Host`; a `Host` of the caller's choosing would mint tokens for
/// any name. So only loopback names (`localhost`, `127.0.0.1`, `[::1]`, any port) and the hosts
/// an operator lists (`HEALTHHUB_ALLOWED_HOSTS`) are answered; any other gets 421. With a public
/// base URL configured, the URLs come from it and `Host` decides nothing.
package struct HostGuardMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let allowed: Set<String>

    package init(allowedHosts: [String]) {
        allowed = Set(allowedHosts.map { Self.name(of: $0) } + ["localhost", "127.0.0.1", "::1"])
    }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        // No Host at all (HTTP/1.0): the URLs fall back to localhost.
        guard let authority = request.head.authority, !allowed.contains(Self.name(of: authority)) else {
            return try await next(request, context)
        }
        throw Refusal(.misdirectedRequest, code: "misdirected", "This server does not answer for that host name", for: request, context)
    }

    /// The host name of an authority, lower-cased, without port or IPv6 brackets.
    package static func name(of authority: String) -> String {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            host = host.dropFirst().prefix { $0 != "]" }
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            host = host[..<colon]
        }
        return String(host.hasSuffix(".") ? host.dropLast() : host)
    }

    /// Whether a listening address is loopback only.
    package static func isLoopback(_ address: String) -> Bool {
        ["127.0.0.1", "::1", "localhost"].contains(address) || address.hasPrefix("127.")
    }
}
