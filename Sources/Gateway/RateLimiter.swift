import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import Telemetry

/// Token buckets keyed by client IP, by user and by OAuth client. Each request costs tokens by
/// its interaction; a bucket refills continuously up to its capacity. State is per instance: with
/// N instances behind a balancer a caller gets up to N times the budget (see docs/gateway.md).
package final class RateLimiter: Sendable {
    /// A bucket size and how fast it refills.
    package struct Budget: Sendable, Equatable {
        package var capacity: Double
        package var perSecond: Double
        package init(capacity: Double, perSecond: Double) {
            self.capacity = capacity
            self.perSecond = perSecond
        }
    }

    package struct Configuration: Sendable, Equatable {
        package var enabled = true
        /// Per client IP (every request).
        package var ip = Budget(capacity: 3000, perSecond: 1000)
        /// Per signed-in user and per OAuth client (FHIR requests).
        package var user = Budget(capacity: 1500, perSecond: 500)
        package var client = Budget(capacity: 3000, perSecond: 1000)
        /// Sign-in and token endpoints, per client IP: a few attempts, slowly refilled.
        package var authentication = Budget(capacity: 60, perSecond: 0.5)
        /// Costs by interaction: read 1; search and create 10; history and export 50.
        package var costs: [Interaction: Double] = [.read: 1, .search: 10, .create: 10, .write: 10, .history: 50, .export: 50, .other: 1]
        package init() {}
    }

    package enum Interaction: String, Sendable, CaseIterable {
        case read, search, create, write, history, export, other
    }

    /// The result of a charge: allowed or not, and what the headers say.
    package struct Decision: Sendable, Equatable {
        package var allowed: Bool
        package var limit: Int
        package var remaining: Int
        /// Seconds until the bucket is full again.
        package var reset: Int
        /// Seconds until this request would be allowed (when refused).
        package var retryAfter: Int

        package init(allowed: Bool, limit: Int, remaining: Int, reset: Int, retryAfter: Int) {
            self.allowed = allowed
            self.limit = limit
            self.remaining = remaining
            self.reset = reset
            self.retryAfter = retryAfter
        }
    }

    struct Bucket {
        var tokens: Double
        var updated: Double
    }

    package let configuration: Configuration
    private let buckets = Mutex<(all: [String: Bucket], swept: Double)>(([:], 0))
    private let now: @Sendable () -> Double
    private let telemetry: Telemetry?
    static let maxKeys = 100_000

    package init(
        configuration: Configuration, telemetry: Telemetry? = nil,
        now: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) {
        self.configuration = configuration
        self.telemetry = telemetry
        self.now = now
    }

    /// Takes `cost` tokens from the bucket `key` (`ip:`, `auth:`, `user:` or `client:` and the
    /// caller) of `budget`, if it has them. Refusals are counted by bucket kind.
    package func charge(_ key: String, cost: Double, budget: Budget) -> Decision {
        let decision = take(key, cost: cost, budget: budget)
        if !decision.allowed, let telemetry {
            let kind = key.prefix { $0 != ":" }
            telemetry.rateLimited(bucket: kind == "auth" ? "signin" : String(kind))
        }
        return decision
    }

    private func take(_ key: String, cost: Double, budget: Budget) -> Decision {
        let t = now()
        return buckets.withLock { state in
            // Forget idle buckets (they would be full again) at most every 10 s, not per request.
            if state.all.count > Self.maxKeys, t - state.swept > 10 {
                state.all = state.all.filter { t - $0.value.updated < 60 }
                state.swept = t
            }
            var b = state.all[key] ?? Bucket(tokens: budget.capacity, updated: t)
            b.tokens = min(budget.capacity, b.tokens + (t - b.updated) * budget.perSecond)
            b.updated = t
            let allowed = b.tokens >= cost
            if allowed { b.tokens -= cost }
            state.all[key] = b
            let missing = budget.capacity - b.tokens
            return Decision(
                allowed: allowed, limit: Int(budget.capacity), remaining: max(0, Int(b.tokens)),
                reset: budget.perSecond > 0 ? Int((missing / budget.perSecond).rounded(.up)) : 0,
                retryAfter: allowed ? 0 : max(1, Int(((cost - b.tokens) / max(budget.perSecond, 0.0001)).rounded(.up))))
        }
    }

    /// What a request costs, from its method and path (before routing).
    package func interaction(_ method: HTTPRequest.Method, _ path: String) -> Interaction {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.first == "fhir" else { return .other }
        if parts.contains(where: { $0.hasPrefix("$export") }) { return .export }
        if parts.contains("_history") { return parts.count == 5 ? .read : .history }
        switch method {
        case .get, .head:
            if parts.count >= 3 { return .read }
            return parts.count == 2 ? .search : .other
        case .post:
            if parts.last == "_search" { return .search }
            return parts.count == 2 ? .create : .write
        default:
            return .write
        }
    }

    package func cost(_ interaction: Interaction) -> Double { configuration.costs[interaction] ?? 1 }

    /// Every endpoint that checks a password, a second factor or a client secret (sign-in form
    /// posts, token, revocation, introspection): the stricter per-IP budget.
    package static func isAuthentication(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        method == .post && ["/login", "/login/mfa", "/login/enrol", "/oauth/token", "/oauth/revoke", "/oauth/introspect"].contains(path)
    }
}

/// Fourth in the gateway: charges the client IP's bucket (and the sign-in budget on the sign-in
/// and token endpoints); the user and client buckets are charged by authentication, once the
/// caller is known. Refusals are 429 with `Retry-After`; every answer carries `RateLimit-*`.
package struct RateLimitMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let limiter: RateLimiter

    package init(limiter: RateLimiter) { self.limiter = limiter }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard limiter.configuration.enabled else { return try await next(request, context) }
        let ip = context.remoteAddress ?? "unknown"
        let path = request.uri.path
        if RateLimiter.isAuthentication(request.method, path) {
            let d = limiter.charge("auth:\(ip)", cost: 1, budget: limiter.configuration.authentication)
            guard d.allowed else { throw RateLimitError(decision: d, scope: "sign-in attempts from this address") }
        }
        let interaction = limiter.interaction(request.method, path)
        let decision = limiter.charge("ip:\(ip)", cost: limiter.cost(interaction), budget: limiter.configuration.ip)
        guard decision.allowed else { throw RateLimitError(decision: decision, scope: "requests from this address") }
        var context = context
        context.rateLimit = decision
        context.interaction = interaction
        var response = try await responding(request, context, next)
        // Authentication may have set the headers from a tighter (user or client) bucket.
        if response.headers[.rateLimitLimit] == nil { RateLimitError.apply(decision, to: &response.headers) }
        return response
    }
}

/// A 429: `Retry-After` and the `RateLimit-*` headers, no internals.
package struct RateLimitError: HTTPResponseError {
    package let decision: RateLimiter.Decision
    package let scope: String

    package init(decision: RateLimiter.Decision, scope: String) {
        self.decision = decision
        self.scope = scope
    }

    package var status: HTTPResponse.Status { .tooManyRequests }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.retryAfter: String(decision.retryAfter)]
        Self.apply(decision, to: &headers)
        return try Refusal(
            .tooManyRequests, code: "rate_limited", "Too many \(scope); retry in \(decision.retryAfter) s", surface: .of(request.uri.path),
            requestID: (context as? any GatewayRequestContext)?.requestID ?? "", headers: headers
        ).response(from: request, context: context)
    }

    package static func apply(_ d: RateLimiter.Decision, to headers: inout HTTPFields) {
        headers[.rateLimitLimit] = String(d.limit)
        headers[.rateLimitRemaining] = String(d.remaining)
        headers[.rateLimitReset] = String(d.reset)
    }
}

extension HTTPField.Name {
    package static let rateLimitLimit = HTTPField.Name("RateLimit-Limit")!
    package static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining")!
    package static let rateLimitReset = HTTPField.Name("RateLimit-Reset")!
}
