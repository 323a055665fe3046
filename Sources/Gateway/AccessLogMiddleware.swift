import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import Logging
import Telemetry

/// One log line per request: method, the matched route template (`/fhir/:type/:id`, never the
/// path itself, which holds ids), status and duration. The request id comes with the logger.
/// The same measurement feeds the request metrics (count, latency, in flight).
package struct AccessLogMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let telemetry: Telemetry?

    package init(telemetry: Telemetry? = nil) { self.telemetry = telemetry }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        telemetry?.requestStarted()
        do {
            let response = try await next(request, context)
            log(request, context, status: response.status.code, since: start)
            return response
        } catch let error as any HTTPResponseError {
            log(request, context, status: error.status.code, since: start)
            throw error
        } catch {
            log(request, context, status: 500, since: start)
            throw error
        }
    }

    func log(_ request: Request, _ context: AppRequestContext, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        telemetry?.requestFinished(method: request.method.rawValue, route: route, status: status, seconds: elapsed.seconds)
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        let fraction = String(micros % 1000)
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "route": .string(route),
                "status": .stringConvertible(status),
                "duration_ms": .string("\(micros / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"),
            ])
    }
}
