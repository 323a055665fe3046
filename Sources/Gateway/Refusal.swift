import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import NIOCore

/// Where a request is answered, which decides the shape of its errors: an OperationOutcome for
/// the FHIR API, RFC 6749 error JSON for the OAuth token endpoints, an HTML page for the pages
/// people see, and RFC 9457 `application/problem+json` for the operations API and the rest.
package enum Surface: Sendable, Equatable {
    case fhir, oauth, page, api

    package static func of(_ path: String) -> Surface {
        let segments = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true)
        switch segments.first.map({ $0.lowercased() }) {
        case "fhir": return .fhir
        case "oauth": return ["token", "revoke", "introspect"].contains(segments.dropFirst().first.map { $0.lowercased() } ?? "") ? .oauth : .page
        case "login", "logout", "status": return .page
        default: return .api
        }
    }
}

/// A refusal of the gateway (path guard, host guard, WAF, body limits, rate limits,
/// authentication) or of an operations handler, worded once and shaped for the route's surface.
/// Its text says what to fix and the request id, never what matched.
package struct Refusal: HTTPResponseError {
    package let status: HTTPResponse.Status
    /// A short machine-readable code: `blocked`, `too_large`, `rate_limited`, `invalid_path`,
    /// `misdirected`, `busy`, `login`, `forbidden`, `invalid`, `not_found`...
    package let code: String
    package let message: String
    package let surface: Surface
    package let requestID: String
    package var headers: HTTPFields

    package init(_ status: HTTPResponse.Status, code: String, _ message: String, surface: Surface, requestID: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.surface = surface
        self.requestID = requestID
        self.headers = headers
    }

    package init(_ status: HTTPResponse.Status, code: String, _ message: String, for request: Request, _ context: some GatewayRequestContext, headers: HTTPFields = [:]) {
        self.init(status, code: code, message, surface: .of(request.uri.path), requestID: context.requestID, headers: headers)
    }

    /// The FHIR issue type (http://hl7.org/fhir/issue-type) of each code.
    static let issueTypes: [String: String] = [
        "blocked": "security", "too_large": "too-long", "rate_limited": "throttled", "invalid_path": "invalid", "misdirected": "not-supported",
        "busy": "transient", "login": "login", "forbidden": "forbidden", "invalid": "invalid", "not_found": "not-found",
        "method_not_allowed": "not-supported", "unauthorized": "login",
    ]

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        switch surface {
        case .fhir:
            let outcome: JSON = [
                "resourceType": "OperationOutcome",
                "issue": [["severity": "error", "code": .string(Self.issueTypes[code] ?? "processing"), "diagnostics": .string(message + " (request id \(requestID))")]],
            ]
            return .json(outcome, status: status, contentType: "application/fhir+json", headers: headers)
        case .oauth:
            return .json(["error": .string(code), "error_description": .string(message), "request_id": .string(requestID)], status: status, headers: headers)
        case .api:
            let problem: JSON = [
                "type": "about:blank", "title": .string(status.reasonPhrase), "status": .int(status.code), "detail": .string(message), "code": .string(code),
                "request_id": .string(requestID),
            ]
            return .json(problem, status: status, contentType: "application/problem+json", headers: headers)
        case .page:
            var headers = self.headers
            headers[.cacheControl] = "no-store"
            headers[.contentType] = "text/html; charset=utf-8"
            let body = (try? HTMLPage.templates.render("error", ["title": status.reasonPhrase, "message": message, "requestID": requestID])) ?? ""
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }
}

/// Innermost of the gateway chain: the framework's own errors (no route: 404; a body over the
/// framework's limit) become refusals shaped for their surface like every other refusal.
package struct SurfaceErrorMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext

    package init() {}

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let code =
                switch error.status {
                case .notFound: "not_found"
                case .methodNotAllowed: "method_not_allowed"
                case .contentTooLarge: "too_large"
                case .unauthorized: "unauthorized"
                default: "invalid"
                }
            let message = error.status == .notFound ? "There is nothing at this URL" : error.body ?? error.status.reasonPhrase
            throw Refusal(error.status, code: code, message, for: request, context, headers: error.headers)
        }
    }
}
