import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Logging
import Storage

/// Makes every answer under `/fhir` FHIR-shaped: XML requests get 415, framework errors and
/// unexpected failures become OperationOutcomes, and a 500 says only the request id (the cause
/// goes to the log, which carries no resource content).
package struct FHIRErrorMiddleware<Context: GatewayRequestContext>: RouterMiddleware {
    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let format = request.uri.queryParameters["_format"], format.lowercased().contains("xml") {
            throw FHIRError(.unsupportedMediaType, code: "not-supported", "XML is not supported; use _format=json")
        }
        if let accept = request.headers[.accept]?.lowercased(), accept.contains("xml"), !accept.contains("json"), !accept.contains("*/*") {
            throw FHIRError(.unsupportedMediaType, code: "not-supported", "XML is not supported; accept application/fhir+json")
        }
        do {
            return try await next(request, context)
        } catch let error as Refusal {
            throw error  // a gateway refusal (a body refused while read), already shaped for /fhir
        } catch let error as FHIRError {
            if error.status.code >= 500 { context.logger.error("fhir.error", metadata: ["status": .stringConvertible(error.status.code)]) }
            throw error
        } catch let error as HTTPError {
            let code = error.status == .contentTooLarge ? "too-costly" : error.status == .notFound ? "not-found" : "processing"
            throw FHIRError(error.status, code: code, error.body ?? error.status.reasonPhrase)
        } catch {
            let mapped = FHIRError.from(error, requestID: context.requestID)
            if mapped.status.code >= 500 {
                // The error's type only: descriptions of database errors can quote row values.
                context.logger.error("fhir.unexpected-error", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            throw mapped
        }
    }
}
