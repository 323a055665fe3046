import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import Storage

/// One issue of an OperationOutcome.
package struct OutcomeIssue: Sendable, Equatable {
    package enum Severity: String, Sendable { case fatal, error, warning, information }
    package var severity: Severity
    /// An IssueType code: invalid, structure, required, value, not-found, deleted, conflict,
    /// not-supported, processing, exception, security, forbidden, login, too-costly, business-rule...
    package var code: String
    package var diagnostics: String
    /// FHIRPath locations of the problem.
    package var expression: [String]

    package init(_ severity: Severity, _ code: String, _ diagnostics: String, expression: [String] = []) {
        self.severity = severity
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
    }

    var json: JSON {
        var o = JSONObject()
        o["severity"] = .string(severity.rawValue)
        o["code"] = .string(code)
        o["diagnostics"] = .string(diagnostics)
        if !expression.isEmpty { o["expression"] = .array(expression.map(JSON.string)) }
        return .object(o)
    }
}

package enum OperationOutcome {
    package static func json(_ issues: [OutcomeIssue]) -> JSON {
        var o = JSONObject()
        o["resourceType"] = .string("OperationOutcome")
        o["issue"] = .array((issues.isEmpty ? [OutcomeIssue(.information, "informational", "All OK")] : issues).map(\.json))
        return .object(o)
    }
}

/// A failed FHIR interaction: an HTTP status and an OperationOutcome that says what to fix.
/// Messages never contain resource content, so they are safe to log.
package struct FHIRError: Error, Sendable, HTTPResponseError, CustomStringConvertible {
    package var status: HTTPResponse.Status
    package var issues: [OutcomeIssue]
    package var headers: HTTPFields = [:]

    package init(_ status: HTTPResponse.Status, _ issues: [OutcomeIssue], headers: HTTPFields = [:]) {
        self.status = status
        self.issues = issues
        self.headers = headers
    }

    package init(_ status: HTTPResponse.Status, code: String, _ diagnostics: String, expression: [String] = []) {
        self.init(status, [OutcomeIssue(.error, code, diagnostics, expression: expression)])
    }

    package var description: String { "\(status.code) " + issues.map { "\($0.code): \($0.diagnostics)" }.joined(separator: "; ") }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = FHIRMedia.fhirJSON
        let body = OperationOutcome.json(issues).serialized()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Any error as the FHIRError a client may see: storage conflicts are 409s, anything
    /// unexpected a 500 naming only the request id.
    package static func from(_ error: any Error, requestID: String?) -> FHIRError {
        if let e = error as? FHIRError { return e }
        if case StorageError.conflict? = error as? StorageError {
            return .conflict("A concurrent change to the same resource won; retry the request")
        }
        return FHIRError(.internalServerError, code: "exception", "Internal error; quote request id \(requestID ?? "-") to the operator")
    }

    // Common cases.
    package static func notFound(_ type: String, _ id: String) -> FHIRError {
        FHIRError(.notFound, code: "not-found", "\(type)/\(id) is not known")
    }
    package static func gone(_ type: String, _ id: String) -> FHIRError {
        FHIRError(.gone, code: "deleted", "\(type)/\(id) has been deleted")
    }
    package static func unknownType(_ type: String) -> FHIRError {
        FHIRError(.notFound, code: "not-supported", "Unknown resource type '\(type.prefix(64))'")
    }
    package static func invalid(_ diagnostics: String, expression: [String] = []) -> FHIRError {
        FHIRError(.badRequest, code: "invalid", diagnostics, expression: expression)
    }
    package static func conflict(_ diagnostics: String) -> FHIRError {
        FHIRError(.conflict, code: "conflict", diagnostics)
    }
    package static func preconditionFailed(_ diagnostics: String) -> FHIRError {
        FHIRError(.preconditionFailed, code: "conflict", diagnostics)
    }
}

package enum FHIRMedia {
    package static let fhirJSON = "application/fhir+json; charset=utf-8"
}
