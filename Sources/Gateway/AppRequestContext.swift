import Hummingbird
import Kernel
import Logging

/// The request context of every HealthHub route: Hummingbird's core storage plus what the
/// gateway learns about the request before it reaches a feature.
package struct AppRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// Accepted from `X-Request-ID` or generated; echoed back and logged with every line.
    package var requestID: String = ""
    /// The client's IP address: the direct peer, or, when the peer is a trusted proxy, the
    /// address it forwarded (set by the WAF middleware).
    package var remoteAddress: String?
    /// Who is calling, once the authentication middleware has verified a token.
    package var principal: Principal?
    /// The tightest rate-limit bucket charged for this request so far (for the headers).
    package var rateLimit: RateLimiter.Decision?
    /// What the request costs, classified once by the rate limiter from method and path.
    package var interaction: RateLimiter.Interaction?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// FHIR transaction bundles of a whole patient record are large; bodies are read with this cap.
    package var maxUploadSize: Int { 64 * 1024 * 1024 }
}
