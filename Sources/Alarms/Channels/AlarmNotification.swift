import Foundation
import Logging

/// What a channel sends when an alarm fires or resolves. Operational facts only: rule, severity,
/// the value the rule read, times; never request data.
package struct AlarmNotification: Sendable, Codable, Equatable {
    package var status: String
    package var alarm: String
    package var severity: String
    package var summary: String
    package var value: Double?
    /// When the alarm entered the state this notification announces (ISO 8601).
    package var at: String
    /// For `resolved`: how long it was firing, in seconds.
    package var firingSeconds: Double?
    package var instance: String

    package init(_ t: AlarmTransition, instance: String) {
        status = t.to == .firing ? "firing" : "resolved"
        alarm = t.rule
        severity = t.severity.rawValue
        summary = t.summary
        value = t.value.flatMap { $0.isFinite ? $0 : nil }
        at = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t.at))
        firingSeconds = t.to == .resolved ? t.duration : nil
        self.instance = instance
    }

    /// One line, for subjects and logs: `[FIRING page] High5xxRate: More than 5% ... (value 0.12)`.
    package var headline: String {
        let v = value.map { " (value \(Self.format($0)))" } ?? ""
        return "[\(status.uppercased()) \(severity)] \(alarm): \(summary)\(v)"
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.4g", v)
    }
}

/// Somewhere notifications go.
package protocol AlarmChannel: Sendable {
    var name: String { get }
    /// Delivers once; throws when the far end did not take it (the notifier retries).
    func deliver(_ notification: AlarmNotification) async throws
    /// Whether a failure is worth retrying (connection trouble, 5xx) or final (4xx, bad address).
    func isRetryable(_ error: any Error) -> Bool
}

extension AlarmChannel {
    package func isRetryable(_ error: any Error) -> Bool { true }
}

/// The log channel: a warning when an alarm fires, a notice when it resolves.
package struct LogChannel: AlarmChannel {
    let logger: Logger
    package var name: String { "log" }

    package init(logger: Logger) { self.logger = logger }

    package func deliver(_ n: AlarmNotification) async throws {
        let metadata: Logger.Metadata = [
            "alarm": .string(n.alarm), "severity": .string(n.severity), "status": .string(n.status),
            "value": .string(n.value.map(AlarmNotification.format) ?? "none"),
        ]
        if n.status == "firing" { logger.warning("alarm firing: \(n.summary)", metadata: metadata) } else { logger.notice("alarm resolved: \(n.summary)", metadata: metadata) }
    }
}
