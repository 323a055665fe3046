import HTTPTypes

/// Why an AI engine call did not give an answer. Each case says what to do about it, and none
/// carries the text, audio or image that was sent (they can be patient data).
package enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The engine is not installed or not configured: `install` says what to add.
    case unavailable(engine: String, install: String)
    /// The engine's queue is full: try again in `retryAfter` seconds.
    case busy(engine: String, retryAfter: Int)
    /// The engine took longer than its time limit and was stopped.
    case timedOut(engine: String, seconds: Int)
    /// The engine ran and failed (a crash, a bad exit, output it could not produce).
    case failed(engine: String, reason: String)
    /// The input is wrong: the message says what to fix.
    case invalid(String)
    /// The input is over a limit: the message names the limit.
    case tooLarge(String)

    package var description: String {
        switch self {
        case .unavailable(let engine, let install): "The \(engine) engine is not available on this server: \(install)"
        case .busy(let engine, let seconds): "The \(engine) engine is busy; try again in \(seconds) s"
        case .timedOut(let engine, let seconds): "The \(engine) engine did not answer within \(seconds) s and was stopped"
        case .failed(let engine, let reason): "The \(engine) engine failed: \(reason)"
        case .invalid(let message), .tooLarge(let message): message
        }
    }

    /// The HTTP status of each case: 503 for what the server lacks or cannot do now (with
    /// `Retry-After` when busy), 504 for a time-out, 502 for an engine's own failure.
    package var status: HTTPResponse.Status {
        switch self {
        case .unavailable, .busy: .serviceUnavailable
        case .timedOut: .gatewayTimeout
        case .failed: .badGateway
        case .invalid: .unprocessableContent
        case .tooLarge: .contentTooLarge
        }
    }

    /// The problem document's `code`.
    package var code: String {
        switch self {
        case .unavailable: "engine_unavailable"
        case .busy: "busy"
        case .timedOut: "engine_timeout"
        case .failed: "engine_failed"
        case .invalid: "invalid"
        case .tooLarge: "too_large"
        }
    }
}
