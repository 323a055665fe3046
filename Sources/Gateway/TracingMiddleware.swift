import HTTPTypes
import Hummingbird
import Instrumentation
import Tracing

/// Second in the gateway when tracing is configured: one server span per request, continuing the
/// caller's W3C `traceparent` when there is one, named `METHOD /route/{template}` once routing is
/// known. Attributes are the method, route template, status code and request id — never the
/// path or query, which hold ids and search terms.
package struct TracingMiddleware<T: Tracer>: RouterMiddleware {
    package typealias Context = AppRequestContext
    let tracer: T

    package init(tracer: T) { self.tracer = tracer }

    struct HeaderExtractor: Extractor {
        func extract(key: String, from carrier: HTTPFields) -> String? {
            HTTPField.Name(key).flatMap { carrier[$0] }
        }
    }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        tracer.extract(request.headers, into: &parent, using: HeaderExtractor())
        let span = tracer.startSpan(request.method.rawValue, context: parent, ofKind: .server)
        span.attributes["http.request.method"] = request.method.rawValue
        span.attributes["healthhub.request_id"] = context.requestID
        func finish(_ status: Int) {
            let route = context.endpointPath ?? "unmatched"
            span.operationName = "\(request.method.rawValue) \(route)"
            span.attributes["http.route"] = route
            span.attributes["http.response.status_code"] = status
            if status >= 500 { span.setStatus(.init(code: .error)) }
            span.end()
        }
        return try await ServiceContext.withValue(span.context) {
            do {
                let response = try await next(request, context)
                finish(response.status.code)
                return response
            } catch {
                span.recordError(error)
                finish((error as? any HTTPResponseError)?.status.code ?? 500)
                throw error
            }
        }
    }
}
