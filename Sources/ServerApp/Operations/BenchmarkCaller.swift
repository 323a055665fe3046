import Gateway
import Hummingbird
import Kernel

/// The whole gateway replaced by one step, for `bench/run`'s gateway-overhead measurement only:
/// every request acts as a backend client with every scope. `serve` allows it on loopback only
/// and says so loudly at start.
struct BenchmarkCallerMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = Principal(subject: "benchmark", role: .system, reference: "Client/benchmark", clientID: "benchmark", scopes: ScopeSet("system/*.cruds"))
        return try await next(request, context)
    }
}
