import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// First link of the chain: gives each request an id (the caller's `X-Request-ID` when it is a
/// plain token, otherwise a new one), puts it in the logger metadata and echoes it back.
package struct RequestIDMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    package init() {}

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        // A new id is Hummingbird's own (random prefix and counter: unique, no UUID per request).
        let id = request.headers[.requestID].flatMap { Self.isAcceptable($0) ? $0 : nil } ?? context.id
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = id
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.requestID] = id
            return response
        }
    }

    static func isAcceptable(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 128
            && value.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
            }
    }
}

extension HTTPField.Name {
    package static let requestID = HTTPField.Name("X-Request-ID")!
}
