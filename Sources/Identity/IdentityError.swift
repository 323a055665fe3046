/// Errors of accounts and OAuth. The OAuth cases carry the RFC 6749 error code; every message
/// is safe to show to the caller (no secrets, no patient data).
package enum IdentityError: Error, Equatable, CustomStringConvertible {
    case invalidRequest(String)
    case invalidClient(String)
    case invalidGrant(String)
    case unauthorizedClient(String)
    case unsupportedGrantType(String)
    case invalidScope(String)
    /// Bad input to an account operation (a weak password, an unknown role...).
    case rejected(String)
    case notFound(String)
    case internalError(String)

    /// The OAuth `error` code.
    package var code: String {
        switch self {
        case .invalidRequest: "invalid_request"
        case .invalidClient: "invalid_client"
        case .invalidGrant: "invalid_grant"
        case .unauthorizedClient: "unauthorized_client"
        case .unsupportedGrantType: "unsupported_grant_type"
        case .invalidScope: "invalid_scope"
        case .rejected: "invalid_request"
        case .notFound: "not_found"
        case .internalError: "server_error"
        }
    }

    package var message: String {
        switch self {
        case .invalidRequest(let m), .invalidClient(let m), .invalidGrant(let m), .unauthorizedClient(let m),
            .unsupportedGrantType(let m), .invalidScope(let m), .rejected(let m),
            .notFound(let m), .internalError(let m):
            m
        }
    }

    package var description: String { message }
}
