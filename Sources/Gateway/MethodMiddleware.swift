import HTTPTypes
import Hummingbird

/// The methods HealthHub answers: GET, HEAD (a GET without its body, through the same access
/// rules and audit: the router generates it, `RouterOptions.autoGenerateHeadEndpoints`), POST,
/// PUT, PATCH and DELETE. OPTIONS is a CORS preflight only (answered
/// before this, by `CORSMiddleware`, for allowed origins); OPTIONS otherwise, TRACE, CONNECT and
/// any other method get 405 with `Allow`, shaped for the route's surface.
package struct MethodMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext

    package init() {}

    static let handled: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete]
    package static let allow = "GET, HEAD, POST, PUT, PATCH, DELETE"

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        if Self.handled.contains(request.method) { return try await next(request, context) }
        guard request.method == .head else {
            throw Refusal(
                .methodNotAllowed, code: "method_not_allowed", "\(request.method.rawValue.prefix(16)) is not supported; use \(Self.allow)", for: request, context,
                headers: [.allow: Self.allow])
        }
        var head = request.head
        head.method = .get
        let response = try await next(Request(head: head, body: request.body), context)
        return Response(status: response.status, headers: response.headers)
    }
}
