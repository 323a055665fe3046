import Foundation
import HTTPTypes
import Hummingbird
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
        var headers = self.headers
        headers[.cacheControl] = "no-store"
        let body: String
        switch surface {
        case .fhir:
            headers[.contentType] = "application/fhir+json"
            let issue = Self.issueTypes[code] ?? "processing"
            body = #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"\#(issue)","diagnostics":\#(Self.json(message + " (request id \(requestID))"))}]}"#
        case .oauth:
            headers[.contentType] = "application/json"
            body = #"{"error":\#(Self.json(code)),"error_description":\#(Self.json(message)),"request_id":\#(Self.json(requestID))}"#
        case .api:
            headers[.contentType] = "application/problem+json"
            body =
                #"{"type":"about:blank","title":\#(Self.json(status.reasonPhrase)),"status":\#(status.code),"detail":\#(Self.json(message)),"code":\#(Self.json(code)),"request_id":\#(Self.json(requestID))}"#
        case .page:
            headers[.contentType] = "text/html; charset=utf-8"
            body = (try? HTMLPage.templates.render("error", ["title": status.reasonPhrase, "message": message, "requestID": requestID])) ?? ""
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ text: String) -> String {
        var out = ""
        JSONLogHandler.appendString(text, to: &out)
        return out
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
