import Hummingbird

/// The response of the rest of the chain, with HTTP errors (refusals, FHIR errors) turned into
/// their responses, so a middleware can add headers to those too. Other errors propagate.
package func responding(
    _ request: Request, _ context: AppRequestContext,
    _ next: (Request, AppRequestContext) async throws -> Response
) async throws -> Response {
    do {
        return try await next(request, context)
    } catch let error as any HTTPResponseError {
        return try error.response(from: request, context: context)
    }
}
