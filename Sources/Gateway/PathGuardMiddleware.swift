import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Refuses, with 400, every request path that has more than one spelling: empty segments
/// (`//fhir`, a trailing `/`), dot segments (`.`, `..`), backslashes, and percent-encodings of
/// separators, dots, unreserved characters (`%50atient` for `Patient`), `%` itself or control
/// characters. What passes has exactly one spelling, so the WAF, the rate limiter's route
/// classes, the access log's route templates and the router all see the same path.
///
/// Refused rather than normalised: a client that sends `//fhir/Patient` has a bug or is probing,
/// and quietly serving it would hide both. The router splits paths on `/` and drops empty
/// segments, so before this check `//fhir/Patient` reached `/fhir/:type` while string tests on
/// the path saw something else (security advisory HH-2026-001 in docs/security.md).
package struct PathGuardMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext

    package init() {}

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        if let problem = Self.problem(request.uri.path) {
            context.logger.notice("refused path spelling", metadata: ["problem": .string(problem)])
            throw Refusal(.badRequest, code: "invalid_path", problem, for: request, context)
        }
        return try await next(request, context)
    }

    /// Why `path` (as sent, percent-encoded) is refused, or nil when it has a single spelling.
    package static func problem(_ path: String) -> String? {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return "the request target must be a path starting with /" }
        if bytes.count == 1 { return nil }
        var segmentStart = 1
        var i = 1
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: "/") {
                let segment = bytes[segmentStart..<i]
                if segment.isEmpty { return "empty path segments (// or a trailing /) are not allowed" }
                if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                    return "dot segments (. and ..) are not allowed in paths"
                }
                segmentStart = i + 1
                i += 1
                continue
            }
            switch bytes[i] {
            case UInt8(ascii: "\\"):
                return "backslashes are not allowed in paths"
            case UInt8(ascii: "%"):
                guard i + 2 < bytes.count, let high = WAF.hex(bytes[i + 1]), let low = WAF.hex(bytes[i + 2]) else {
                    return "a % in a path must start a percent-encoding (%XX)"
                }
                if !mayBeEncoded(high << 4 | low) { return "this percent-encoding in the path is refused (an encoded separator, dot, letter, digit, % or control character)" }
                i += 3
                continue
            case 0..<0x20, 0x7F:
                return "control characters are not allowed in paths"
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// Characters that must appear as themselves, never percent-encoded: unreserved ones (RFC
    /// 3986 §2.3: an encoded one is the same path spelled differently), separators, `%` (double
    /// encoding) and controls.
    static func mayBeEncoded(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "%"), UInt8(ascii: ";"), 0..<0x20, 0x7F:
            return false
        default:
            return true
        }
    }

}
