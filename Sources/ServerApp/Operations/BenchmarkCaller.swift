import Gateway
import HTTPTypes
import Hummingbird
import Kernel

/// The whole gateway replaced by one step, for `bench/run`'s gateway-overhead measurement only:
/// every request acts as a backend client with every scope. `serve` allows it only when bound
/// to loopback with no trusted proxies and says so loudly at start; here every request must
/// come straight from loopback (no proxy in between), or it is refused.
struct BenchmarkCallerMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard ["127.0.0.1", "::1"].contains(context.remoteAddress ?? ""), request.headers[.xForwardedFor] == nil,
              request.headers[HTTPField.Name("Forwarded")!] == nil else {
            return Response(status: .forbidden)
        }
        var context = context
        context.principal = Principal(subject: "benchmark", role: .system, reference: "Client/benchmark", clientID: "benchmark", scopes: ScopeSet("system/*.cruds"))
        return try await next(request, context)
    }
}
