import Gateway
import HTTPTypes
import Hummingbird
import Kernel

#if HEALTHHUB_BENCHMARK
/// The whole gateway replaced by one step, for the gateway-overhead measurements of `bench/run`
/// and `bench/gateway-ab` only: every request acts as a backend client with every scope. It
/// exists only in a benchmark build (`-DHEALTHHUB_BENCHMARK`, see `bench/build-benchmark`),
/// never in the shipped binary. Even there `serve` allows it only when bound to loopback with
/// no trusted proxies and says so loudly at start, and every request must come straight from
/// loopback (no proxy in between), or it is refused.
struct BenchmarkCallerMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard ["127.0.0.1", "::1"].contains(context.remoteAddress ?? ""), request.headers[.xForwardedFor] == nil,
            request.headers[HTTPField.Name("Forwarded")!] == nil
        else {
            return Response(status: .forbidden)
        }
        var context = context
        context.principal = Principal(subject: "benchmark", role: .system, reference: "Client/benchmark", clientID: "benchmark", scopes: ScopeSet("system/*.cruds"))
        return try await next(request, context)
    }
}
#endif
