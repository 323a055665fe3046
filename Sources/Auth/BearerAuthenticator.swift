import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import Logging
import Telemetry

/// Requires a valid HealthHub access token, or answers 401 with `WWW-Authenticate`. It is attached
/// to the routes it protects (`RouteTable.identified`), so it never decides from the path whether
/// to run: every route not registered as public passes through it.
/// `X-Break-Glass-Reason` turns on break-glass for practitioners and admins (audited and
/// flagged on every event of the request); anyone else sending it gets a 403.
package struct BearerAuthenticator: RouterMiddleware {
    package typealias Context = AppRequestContext
    let tokens: TokenService
    let urls: ServerURLs
    let audit: SecurityAudit
    let limiter: RateLimiter?

    package init(tokens: TokenService, urls: ServerURLs, audit: SecurityAudit, limiter: RateLimiter?) {
        self.tokens = tokens
        self.urls = urls
        self.audit = audit
        self.limiter = limiter
    }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            await audit.denied(request, context, reason: "login", principal: nil, failure: .missing)
            throw Self.unauthorized("This API needs an access token (Authorization: Bearer ...)", challenge: "Bearer realm=\"HealthHub\"", request, context)
        }
        var principal: Principal
        do {
            principal = try await tokens.verify(
                Self.bearerToken(header),
                audiences: [urls.fhirBase(request)], issuer: urls.issuer(request))
        } catch {
            await audit.denied(request, context, reason: "login", principal: nil, failure: .token)
            let text = error.message.replacingOccurrences(of: "\"", with: "'")
            throw Self.unauthorized(error.message, challenge: "Bearer realm=\"HealthHub\", error=\"invalid_token\", error_description=\"\(text)\"", request, context)
        }
        if let reason = request.headers[.breakGlassReason]?.trimmingCharacters(in: .whitespacesAndNewlines) {
            guard principal.role == .practitioner || principal.role == .admin else {
                await audit.denied(request, context, reason: "forbidden", principal: principal)
                throw Refusal(.forbidden, code: "forbidden", "Only practitioners and admins may break the glass", for: request, context)
            }
            // Real text: padding with spaces, invisible characters or punctuation states nothing.
            guard reason.count <= 500, reason.filter({ $0.isLetter || $0.isNumber }).count >= 4 else {
                throw Refusal(
                    .badRequest, code: "invalid", "X-Break-Glass-Reason must state a reason: at least 4 letters or digits, at most 500 characters",
                    for: request, context)
            }
            principal.breakGlassReason = reason
            context.logger.warning("break-glass access", metadata: ["agent": .string(principal.reference)])
        }
        var context = context
        context.principal = principal
        let tightest = try charge(principal, request, context)
        context.rateLimit = tightest
        var response = try await responding(request, context, next)
        if let tightest { RateLimitError.apply(tightest, to: &response.headers) }
        return response
    }

    /// The client's bucket for every token and the user's for user tokens, now that the caller
    /// is known; returns the tightest decision so far.
    func charge(_ principal: Principal, _ request: Request, _ context: AppRequestContext) throws -> RateLimiter.Decision? {
        let so = context.rateLimit
        guard let limiter, limiter.configuration.enabled else { return so }
        let cost = limiter.cost(context.interaction ?? limiter.interaction(request.method, request.uri.path))
        var tightest = so
        var charges = [("client:\(principal.clientID ?? principal.subject)", limiter.configuration.client, "requests of this application")]
        if principal.role != .system { charges.append(("user:\(principal.subject)", limiter.configuration.user, "requests of this account")) }
        for (key, budget, scope) in charges {
            let d = limiter.charge(key, cost: cost, budget: budget)
            guard d.allowed else { throw RateLimitError(decision: d, scope: scope) }
            if tightest.map({ d.remaining < $0.remaining }) ?? true { tightest = d }
        }
        return tightest
    }

    /// The token after `Bearer `, without surrounding spaces (no Foundation trimming: it is on
    /// every request).
    static func bearerToken(_ header: String) -> String {
        var bytes = header.utf8.dropFirst(7)
        while bytes.first == 0x20 { bytes = bytes.dropFirst() }
        while bytes.last == 0x20 { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func unauthorized(_ message: String, challenge: String, _ request: Request, _ context: AppRequestContext) -> Refusal {
        Refusal(.unauthorized, code: "login", message, for: request, context, headers: [.wwwAuthenticate: challenge])
    }
}
