import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Logging
import Storage

/// Makes every answer under `/fhir` FHIR-shaped: XML requests get 415, framework errors and
/// unexpected failures become OperationOutcomes, and a 500 says only the request id (the cause
/// goes to the log, which carries no resource content).
package struct FHIRErrorMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext

    package init() {}

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        if let format = request.uri.queryParameters["_format"], format.lowercased().contains("xml") {
            throw FHIRError(.unsupportedMediaType, code: "not-supported", "XML is not supported; use _format=json")
        }
        if let accept = request.headers[.accept]?.lowercased(), accept.contains("xml"), !accept.contains("json"), !accept.contains("*/*") {
            throw FHIRError(.unsupportedMediaType, code: "not-supported", "XML is not supported; accept application/fhir+json")
        }
        do {
            return try await next(request, context)
        } catch let error as FHIRError {
            if error.status.code >= 500 { context.logger.error("fhir.error", metadata: ["status": .stringConvertible(error.status.code)]) }
            throw error
        } catch StorageError.conflict {
            throw FHIRError.conflict("A concurrent change to the same resource won; retry the request")
        } catch let error as HTTPError {
            let code = error.status == .contentTooLarge ? "too-costly" : error.status == .notFound ? "not-found" : "processing"
            throw FHIRError(error.status, code: code, error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("fhir.unexpected-error", metadata: ["error": .string(String(String(reflecting: error).prefix(400)))])
            throw FHIRError(.internalServerError, code: "exception", "Internal error; quote request id \(context.requestID) to the operator")
        }
    }
}
