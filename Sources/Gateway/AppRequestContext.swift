import Hummingbird
import Kernel
import Logging

/// What every HealthHub request context carries, public route or identified: what the gateway
/// learnt about the request before it reached a feature.
package protocol GatewayRequestContext: RequestContext {
    /// Accepted from `X-Request-ID` or generated; echoed back and logged with every line.
    var requestID: String { get }
    /// The client's IP address: the direct peer, or, when the peer is a trusted proxy, the
    /// address it forwarded (set by the WAF middleware).
    var remoteAddress: String? { get }
}

/// The request context of every route until authentication: Hummingbird's core storage plus
/// what the gateway learns about the request.
package struct AppRequestContext: GatewayRequestContext {
    package var coreContext: CoreRequestContextStorage
    package var requestID: String = ""
    package var remoteAddress: String?
    /// Set by the authentication middleware of identified routes, and read only to build their
    /// `IdentifiedRequestContext`: handlers never see an optional principal.
    package var principal: Principal?
    /// The web session of a signed-in page (set with the principal by the session middleware).
    package var session: PageSession?
    /// The tightest rate-limit bucket charged for this request so far (for the headers).
    package var rateLimit: RateLimiter.Decision?
    /// What the request costs, classified once by the rate limiter from method and path.
    package var interaction: RateLimiter.Interaction?
    /// A site `allow` rule matched the path: the body is not inspected either.
    package var wafAllowed = false

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// FHIR transaction bundles of a whole patient record are large; bodies are read with this cap.
    package static let uploadLimit = 64 * 1024 * 1024
    package var maxUploadSize: Int { Self.uploadLimit }
}

/// The context of every route registered through `RouteTable.identified`: the same as
/// `AppRequestContext`, with a principal that is not optional. It can only be made from a
/// context whose principal the authentication middleware has set; HealthHub acting for itself
/// (import, demo data, background jobs) never goes through a request context at all.
package struct IdentifiedRequestContext: ChildRequestContext, GatewayRequestContext {
    package typealias ParentContext = AppRequestContext
    package var coreContext: CoreRequestContextStorage
    package let requestID: String
    package let remoteAddress: String?
    package let principal: Principal
    /// The web session, for pages (`RouteTable.signedIn`); nil on the token-authenticated API.
    package let session: PageSession?

    package init(context: AppRequestContext) throws {
        // Unreachable behind the authentication middleware; refused rather than assumed.
        guard let principal = context.principal else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"HealthHub\""])
        }
        coreContext = context.coreContext
        requestID = context.requestID
        remoteAddress = context.remoteAddress
        self.principal = principal
        self.session = context.session
    }

    package var maxUploadSize: Int { AppRequestContext.uploadLimit }
}

/// What a signed-in page knows of its web session besides the principal: the CSRF token its
/// forms carry and the account's email (shown in the header).
package struct PageSession: Sendable {
    /// The largest form a page posts: a dictation or a scan (25 MB of audio and the form
    /// around it). Each route's own WAF limit comes first (1 MB for most, 16 MB for messages).
    package static let formLimit = 26 << 20

    package let csrf: String
    package let email: String
    /// A portal account's own patient record (nil: none, or not a portal account).
    package let ownRecord: String?
    /// The patients a portal account may act for as a proxy (`ProxyStore`).
    package let proxyRecords: [String]

    package init(csrf: String, email: String, ownRecord: String? = nil, proxyRecords: [String] = []) {
        self.csrf = csrf
        self.email = email
        self.ownRecord = ownRecord
        self.proxyRecords = proxyRecords
    }
}
