import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import Logging

/// Guards the FHIR API: a valid HealthHub access token, or 401 with `WWW-Authenticate`.
/// `X-Break-Glass-Reason` turns on break-glass for practitioners and admins (audited and
/// flagged on every event of the request); anyone else sending it gets a 403.
package struct BearerAuthenticator: RouterMiddleware {
    package typealias Context = AppRequestContext
    let tokens: TokenService
    let urls: ServerURLs
    let audit: SecurityAudit

    package init(tokens: TokenService, urls: ServerURLs, audit: SecurityAudit) {
        self.tokens = tokens
        self.urls = urls
        self.audit = audit
    }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            await audit.denied(request, context, reason: "login", principal: nil)
            throw Self.unauthorized("This API needs an access token (Authorization: Bearer ...)", challenge: "Bearer realm=\"HealthHub\"")
        }
        var principal: Principal
        do {
            principal = try await tokens.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces),
                                                audiences: [urls.fhirBase(request)], issuer: urls.issuer(request))
        } catch {
            await audit.denied(request, context, reason: "login", principal: nil)
            let text = error.message.replacingOccurrences(of: "\"", with: "'")
            throw Self.unauthorized(error.message, challenge: "Bearer realm=\"HealthHub\", error=\"invalid_token\", error_description=\"\(text)\"")
        }
        if let reason = request.headers[.breakGlassReason]?.trimmingCharacters(in: .whitespaces) {
            guard principal.role == .practitioner || principal.role == .admin else {
                await audit.denied(request, context, reason: "forbidden", principal: principal)
                throw AccessPolicy.forbidden("Only practitioners and admins may break the glass")
            }
            guard reason.count >= 4, reason.count <= 500 else {
                throw FHIRError(.badRequest, code: "invalid", "X-Break-Glass-Reason must state a reason of 4 to 500 characters")
            }
            principal.breakGlassReason = reason
            context.logger.warning("break-glass access", metadata: ["agent": .string(principal.reference)])
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }

    static func unauthorized(_ message: String, challenge: String) -> FHIRError {
        var error = FHIRError(.unauthorized, code: "login", message)
        error.headers[.wwwAuthenticate] = challenge
        return error
    }
}
