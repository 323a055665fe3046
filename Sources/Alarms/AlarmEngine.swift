import Synchronization

/// Where an alarm is in its life: OK → PENDING (breached, waiting out `for`) → FIRING →
/// RESOLVED (cleared after firing; OK again at the next clear evaluation). A breach that clears
/// while PENDING goes back to OK without notifying anyone. "No data" changes nothing: a firing
/// alarm whose signal goes away stays firing until the signal says it is clear. In the first
/// `warmup` seconds of history (after a restart) a firing alarm is not resolved: its windows
/// hold almost nothing yet, and a clear reading would be an artefact of the restart.
package enum AlarmState: String, Sendable, Codable, CaseIterable { case ok, pending, firing, resolved }

/// One alarm's current state, as `GET /api/alarms` and `healthhub alarms list` show it.
package struct AlarmStatus: Sendable, Codable, Equatable {
    package var name: String
    package var severity: AlarmRule.Severity
    package var summary: String
    package var state: AlarmState
    /// When the alarm entered its state (Unix seconds).
    package var since: Double
    /// The value the rule looked at last; nil with no data.
    package var value: Double?
    /// True when the rule's signal does not exist (yet), e.g. backups before there are any.
    package var noData: Bool

    package init(name: String, severity: AlarmRule.Severity, summary: String, state: AlarmState, since: Double, value: Double?, noData: Bool) {
        self.name = name
        self.severity = severity
        self.summary = summary
        self.state = state
        self.since = since
        self.value = value
        self.noData = noData
    }
}

/// A change of state, with how long the alarm spent in the state it left.
package struct AlarmTransition: Sendable, Codable, Equatable {
    package var rule: String
    package var severity: AlarmRule.Severity
    package var summary: String
    package var from: AlarmState
    package var to: AlarmState
    package var at: Double
    package var value: Double?
    /// Seconds spent in `from`.
    package var duration: Double

    package init(rule: String, severity: AlarmRule.Severity, summary: String, from: AlarmState, to: AlarmState, at: Double, value: Double?, duration: Double) {
        self.rule = rule
        self.severity = severity
        self.summary = summary
        self.from = from
        self.to = to
        self.at = at
        self.value = value
        self.duration = duration
    }

    /// Only entering FIRING and RESOLVED is worth telling a person about.
    package var notifies: Bool { to == .firing || to == .resolved }
}

/// Evaluates the rules over the signal history and keeps each alarm's state. Pure: no I/O, no
/// clock of its own (the caller passes the history, whose last sample is "now"), so tests drive
/// it with synthetic signals.
package final class AlarmEngine: Sendable {
    package let rules: [AlarmRule]
    let warmup: Double
    private let states: Mutex<[String: AlarmStatus]>

    /// `restored`: states saved by a previous run, so a restart does not re-announce an alarm
    /// that was already firing.
    package init(rules: [AlarmRule] = AlarmRules.all, restored: [AlarmStatus] = [], now: Double = 0, warmup: Double = 300) {
        self.rules = rules
        self.warmup = warmup
        var map: [String: AlarmStatus] = [:]
        let saved = Dictionary(restored.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for rule in rules {
            var status = AlarmStatus(name: rule.name, severity: rule.severity, summary: rule.summary, state: .ok, since: now, value: nil, noData: true)
            if let old = saved[rule.name] {
                status.state = old.state
                status.since = old.since
                status.value = old.value
                status.noData = old.noData
            }
            map[rule.name] = status
        }
        states = Mutex(map)
    }

    package func statuses() -> [AlarmStatus] {
        let map = states.withLock { $0 }
        return rules.compactMap { map[$0.name] }
    }

    /// One evaluation of every rule; returns the state changes it caused, in rule order.
    package func evaluate(_ history: SignalHistory) -> [AlarmTransition] {
        let now = history.now
        let readings = rules.map { ($0, $0.evaluate(history)) }
        return states.withLock { map in
            var out: [AlarmTransition] = []
            for (rule, reading) in readings {
                guard var status = map[rule.name] else { continue }
                func move(_ to: AlarmState) {
                    out.append(
                        AlarmTransition(
                            rule: rule.name, severity: rule.severity, summary: rule.summary, from: status.state, to: to,
                            at: now, value: status.value, duration: max(0, now - status.since)))
                    status.state = to
                    status.since = now
                }
                switch reading {
                case .noData:
                    status.noData = true
                    status.value = nil
                case .ok(let value):
                    if status.state == .firing && history.span < warmup { continue }
                    status.noData = false
                    status.value = value
                    switch status.state {
                    case .pending: move(.ok)
                    case .firing: move(.resolved)
                    case .resolved: move(.ok)
                    case .ok: break
                    }
                case .breach(let value):
                    status.noData = false
                    status.value = value
                    if status.state == .ok || status.state == .resolved { move(.pending) }
                    if status.state == .pending && now - status.since >= rule.pendingFor { move(.firing) }
                }
                map[rule.name] = status
            }
            return out
        }
    }
}
