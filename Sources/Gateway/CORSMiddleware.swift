import HTTPTypes
import Hummingbird

/// CORS for browser apps on other origins (SMART apps): only origins on the allow-list get the
/// `Access-Control-*` headers; preflights are answered here, before authentication (they carry
/// no token). No list, no cross-origin access.
package struct CORSMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let origins: Set<String>

    package init(origins: [String]) { self.origins = Set(origins.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }) }

    static let allowHeaders = "Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Exist, If-None-Match, X-Request-ID, X-Break-Glass-Reason"
    static let exposeHeaders = "ETag, Location, Last-Modified, Content-Location, X-Request-ID, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After"

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) else { return try await next(request, context) }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = HTTPFields()
            apply(origin, to: &headers)
            headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] = Self.allowHeaders
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await responding(request, context, next)
        apply(origin, to: &response.headers)
        response.headers[.accessControlExposeHeaders] = Self.exposeHeaders
        return response
    }

    func apply(_ origin: String, to headers: inout HTTPFields) {
        headers[.accessControlAllowOrigin] = origin
        headers[.vary] = "Origin"
    }
}
