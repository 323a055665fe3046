import Foundation
import Instrumentation

/// The W3C Trace Context of a span: 16-byte trace id, 8-byte span id, sampled flag, as carried
/// in `traceparent: 00-<trace id>-<span id>-<flags>`.
package struct TraceContext: Sendable, Equatable {
    package var traceID: String
    package var spanID: String
    package var sampled: Bool

    package init(traceID: String, spanID: String, sampled: Bool = true) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// Parses a `traceparent` header; nil when it is malformed or all zeros (as the spec says).
    package init?(traceparent: String) {
        let parts = traceparent.trimmingCharacters(in: .whitespaces).lowercased().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }),
            parts[1] != String(repeating: "0", count: 32), parts[2] != String(repeating: "0", count: 16),
            let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        traceID = String(parts[1])
        spanID = String(parts[2])
        sampled = flags & 1 == 1
    }

    package var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    static func randomID(bytes: Int) -> String {
        var out = ""
        out.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let b = UInt8.random(in: 0...255)
            out += String(b >> 4, radix: 16) + String(b & 0xF, radix: 16)
        }
        return out
    }
}

enum TraceContextKey: ServiceContextKey {
    typealias Value = TraceContext
    static var nameOverride: String? { "traceparent" }
}

extension ServiceContext {
    /// The span this context belongs to, when a HealthHub tracer made it or a caller sent it.
    package var traceContext: TraceContext? {
        get { self[TraceContextKey.self] }
        set { self[TraceContextKey.self] = newValue }
    }
}
