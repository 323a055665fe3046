import Telemetry

/// What a rule reads from the signals at one evaluation.
package enum AlarmReading: Sendable, Equatable {
    /// Within bounds (with the value looked at, when there is one).
    case ok(Double?)
    /// Out of bounds.
    case breach(Double)
    /// The signal does not exist (yet): no TLS certificate, no backups, no engines.
    case noData
}

/// One alarm: a condition over the signals and how long it must hold before it fires.
package struct AlarmRule: Sendable {
    package enum Severity: String, Sendable, Codable { case page, ticket }

    /// The same name as the alert in `deploy/prometheus/alerts.yml`.
    package let name: String
    package let severity: Severity
    package let summary: String
    /// How long a breach must last in PENDING before FIRING (0: at once).
    package let pendingFor: Double
    package let evaluate: @Sendable (SignalHistory) -> AlarmReading

    package init(
        _ name: String, _ severity: Severity, for pendingFor: Double = 0, summary: String,
        evaluate: @escaping @Sendable (SignalHistory) -> AlarmReading
    ) {
        self.name = name
        self.severity = severity
        self.summary = summary
        self.pendingFor = pendingFor
        self.evaluate = evaluate
    }

    /// Breach when `value` is above `threshold`; no data when there is no value.
    static func above(_ value: Double?, _ threshold: Double) -> AlarmReading {
        guard let value else { return .noData }
        return value > threshold ? .breach(value) : .ok(value)
    }

    static func below(_ value: Double?, _ threshold: Double) -> AlarmReading {
        guard let value else { return .noData }
        return value < threshold ? .breach(value) : .ok(value)
    }
}
