import HTTPTypes
import Hummingbird

/// Headers every response carries: no MIME sniffing, no framing, no referrer (pages send it to
/// HealthHub itself only), a strict CSP (pages set their own), and HSTS when the server is
/// reached over https.
/// Errors thrown further in are turned into responses here, so refusals carry the headers too.
package struct SecurityHeadersMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let hsts: Bool

    package init(hsts: Bool) { self.hsts = hsts }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var response = try await responding(request, context, next)
        apply(&response.headers)
        return response
    }

    func apply(_ headers: inout HTTPFields) {
        headers[.xContentTypeOptions] = "nosniff"
        if headers[.referrerPolicy] == nil { headers[.referrerPolicy] = "no-referrer" }
        if headers[.contentSecurityPolicy] == nil { headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" }
        if headers[.xFrameOptions] == nil { headers[.xFrameOptions] = "DENY" }
        if hsts { headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
    }
}

extension HTTPField.Name {
    package static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    package static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
