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
        allowed = Set(allowedHosts.compactMap { Self.name(of: $0) } + ["localhost", "127.0.0.1", "::1"])
    }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        // No Host at all (HTTP/1.0): the URLs fall back to localhost.
        guard let authority = request.head.authority else { return try await next(request, context) }
        guard let name = Self.name(of: authority) else {
            // `127.0.0.1:8311@evil.example`, `[::1]evil`, a comma list: not a host and port at all.
            throw Refusal(.badRequest, code: "invalid", "The Host header must be a host name or address with an optional port", for: request, context)
        }
        guard !allowed.contains(name) else { return try await next(request, context) }
        throw Refusal(.misdirectedRequest, code: "misdirected", "This server does not answer for that host name", for: request, context)
    }

    /// The host name of an authority (`host[:port]`, `[v6][:port]`), lower-cased, without port,
    /// brackets or a final dot; nil when it is anything else (userinfo, paths, lists, letters
    /// in the port), so that only a plain authority is ever compared, let alone used in URLs.
    package static func name(of authority: String) -> String? {
        let text = Substring(authority.lowercased())
        var host: Substring
        var rest: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            rest = text[text.index(after: close)...]
        } else {
            let colon = text.firstIndex(of: ":") ?? text.endIndex
            host = text[..<colon]
            rest = text[colon...]
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else { return nil }
        }
        if !rest.isEmpty {
            let port = rest.dropFirst()
            guard rest.first == ":", (1...5).contains(port.count), port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        }
        return String(host.hasSuffix(".") ? host.dropLast() : host)
    }

    /// Whether a listening address is loopback only.
    package static func isLoopback(_ address: String) -> Bool {
        ["127.0.0.1", "::1", "localhost"].contains(address) || address.hasPrefix("127.")
    }
}
