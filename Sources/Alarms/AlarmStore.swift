import Foundation
import Kernel
import SQLKit
import Storage

/// Alarm states (so a restart does not re-announce what was firing), the history of every
/// transition, silences, process starts (for the restart alarm) and hourly probe tallies (for
/// the 30-day availability). Keyed by instance where the facts are per process.
package struct AlarmStore: Sendable {
    let database: any Database
    package let instance: String

    package init(database: any Database, instance: String) {
        self.database = database
        self.instance = instance
    }

    // swift-format-ignore
    package static let migrations: [Migration] = [
        Migration("alarms.001-state-history-silences-uptime") { d in [
            """
            CREATE TABLE hh_alarm_state (
              instance TEXT NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL, since_ms \(d.bigintType) NOT NULL,
              value \(d.doubleType), no_data INTEGER NOT NULL, PRIMARY KEY (instance, rule))
            """,
            """
            CREATE TABLE hh_alarm_history (
              id TEXT PRIMARY KEY, instance TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
              from_state TEXT NOT NULL, to_state TEXT NOT NULL, at_ms \(d.bigintType) NOT NULL,
              value \(d.doubleType), duration_ms \(d.bigintType) NOT NULL, silenced INTEGER NOT NULL)
            """,
            "CREATE INDEX hh_alarm_history_at ON hh_alarm_history (at_ms)",
            """
            CREATE TABLE hh_alarm_silence (
              id TEXT PRIMARY KEY, matcher TEXT NOT NULL, starts_ms \(d.bigintType) NOT NULL, ends_ms \(d.bigintType) NOT NULL,
              reason TEXT NOT NULL, created_by TEXT NOT NULL, created_ms \(d.bigintType) NOT NULL)
            """,
            "CREATE TABLE hh_instance_start (instance TEXT NOT NULL, started_ms \(d.bigintType) NOT NULL)",
            "CREATE INDEX hh_instance_start_at ON hh_instance_start (started_ms)",
            """
            CREATE TABLE hh_uptime (
              component TEXT NOT NULL, hour_ms \(d.bigintType) NOT NULL, ok INTEGER NOT NULL, total INTEGER NOT NULL,
              PRIMARY KEY (component, hour_ms))
            """,
            "CREATE TABLE hh_uptime_instance (instance TEXT PRIMARY KEY, last_ms \(d.bigintType) NOT NULL)",
        ] },
    ]

    static func millis(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }

    // MARK: States and history

    /// This instance's saved states.
    package func loadStates() async throws -> [AlarmStatus] {
        try await states(instance: instance).map(\.status)
    }

    /// Saved states of one instance or of all (for `healthhub alarms list` beside running servers).
    package func states(instance: String?) async throws -> [(instance: String, status: AlarmStatus)] {
        let filter: SQLQueryString = instance.map { "WHERE instance = \(bind: $0)" } ?? ""
        let rules = Dictionary(AlarmRules.all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return try await database.read { db in
            try await db.raw("SELECT instance, rule, state, since_ms, value, no_data FROM hh_alarm_state \(filter) ORDER BY instance").all().compactMap { row in
                let name = try row.decode(column: "rule", as: String.self)
                guard let state = AlarmState(rawValue: try row.decode(column: "state", as: String.self)), let rule = rules[name] else { return nil }
                return (
                    try row.decode(column: "instance", as: String.self),
                    AlarmStatus(
                        name: name, severity: rule.severity, summary: rule.summary, state: state,
                        since: Double(try row.decode(column: "since_ms", as: Int64.self)) / 1000,
                        value: try row.decode(column: "value", as: Double?.self),
                        noData: try row.decode(column: "no_data", as: Int.self) != 0)
                )
            }
        }
    }

    /// Saves the current states and appends the transitions, in one transaction.
    package func save(_ statuses: [AlarmStatus], transitions: [AlarmTransition], silenced: Set<String>) async throws {
        let instance = instance
        try await database.transaction { tx in
            try await tx.sql.raw("DELETE FROM hh_alarm_state WHERE instance = \(bind: instance)").run()
            for s in statuses {
                try await tx.sql.raw(
                    """
                    INSERT INTO hh_alarm_state (instance, rule, state, since_ms, value, no_data)
                    VALUES (\(bind: instance), \(bind: s.name), \(bind: s.state.rawValue), \(bind: Self.millis(s.since)), \(bind: s.value.flatMap { $0.isFinite ? $0 : nil }), \(bind: s.noData ? 1 : 0))
                    """
                ).run()
            }
            for t in transitions {
                try await tx.sql.raw(
                    """
                    INSERT INTO hh_alarm_history (id, instance, rule, severity, from_state, to_state, at_ms, value, duration_ms, silenced)
                    VALUES (\(bind: UUID().uuidString.lowercased()), \(bind: instance), \(bind: t.rule), \(bind: t.severity.rawValue), \(bind: t.from.rawValue),
                            \(bind: t.to.rawValue), \(bind: Self.millis(t.at)), \(bind: t.value.flatMap { $0.isFinite ? $0 : nil }), \(bind: Self.millis(t.duration)), \(bind: silenced.contains(t.rule) ? 1 : 0))
                    """
                ).run()
            }
        }
    }

    /// One row of the history.
    package struct HistoryEntry: Sendable, Codable, Equatable {
        package var instance: String
        package var transition: AlarmTransition
        package var silenced: Bool
    }

    /// The latest transitions, newest first (all instances).
    package func history(limit: Int = 100, rule: String? = nil) async throws -> [HistoryEntry] {
        try await database.read { db in
            let filter: SQLQueryString = rule.map { "WHERE rule = \(bind: $0)" } ?? ""
            return try await db.raw(
                """
                SELECT instance, rule, severity, from_state, to_state, at_ms, value, duration_ms, silenced FROM hh_alarm_history
                \(filter) ORDER BY at_ms DESC, id LIMIT \(unsafeRaw: String(max(1, min(limit, 1000))))
                """
            ).all().compactMap { row in
                guard let from = AlarmState(rawValue: try row.decode(column: "from_state", as: String.self)),
                    let to = AlarmState(rawValue: try row.decode(column: "to_state", as: String.self)),
                    let severity = AlarmRule.Severity(rawValue: try row.decode(column: "severity", as: String.self))
                else { return nil }
                let name = try row.decode(column: "rule", as: String.self)
                let t = AlarmTransition(
                    rule: name, severity: severity, summary: AlarmRules.all.first { $0.name == name }?.summary ?? "",
                    from: from, to: to, at: Double(try row.decode(column: "at_ms", as: Int64.self)) / 1000,
                    value: try row.decode(column: "value", as: Double?.self),
                    duration: Double(try row.decode(column: "duration_ms", as: Int64.self)) / 1000)
                return HistoryEntry(
                    instance: try row.decode(column: "instance", as: String.self), transition: t,
                    silenced: try row.decode(column: "silenced", as: Int.self) != 0)
            }
        }
    }

    // MARK: Silences

    package struct Silence: Sendable, Codable, Equatable {
        package var id: String
        /// A rule name, or `*` for every rule.
        package var matcher: String
        package var startsAt: Double
        package var endsAt: Double
        package var reason: String
        package var createdBy: String

        package func covers(_ rule: String, at time: Double) -> Bool {
            (matcher == "*" || matcher == rule) && startsAt <= time && time < endsAt
        }
    }

    /// What is wrong with a silence asked for (the API, the admin console and the CLI take the
    /// same): the message says what is allowed.
    package struct SilenceProblem: Error, Equatable, CustomStringConvertible {
        package let description: String
    }

    /// Silences `alarm` (a rule name, or `*`) for `minutes` (1 to a week) from now, for a
    /// reason (3 to 500 characters), recorded as `createdBy`'s.
    package func silence(_ alarm: String, minutes: Int, reason: String, createdBy: String, now: Double = Now.date.timeIntervalSince1970) async throws -> Silence {
        guard alarm == "*" || AlarmRules.all.contains(where: { $0.name == alarm }) else {
            throw SilenceProblem(description: "Unknown alarm \(alarm.prefix(80)); one of: *, \(AlarmRules.all.map(\.name).joined(separator: ", "))")
        }
        guard (1...10080).contains(minutes) else { throw SilenceProblem(description: "A silence lasts 1 to 10080 minutes (one week)") }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (3...500).contains(reason.count) else { throw SilenceProblem(description: "The reason must be 3 to 500 characters") }
        return try await addSilence(matcher: alarm, startsAt: now, endsAt: now + Double(minutes) * 60, reason: reason, createdBy: createdBy)
    }

    package func addSilence(matcher: String, startsAt: Double, endsAt: Double, reason: String, createdBy: String) async throws -> Silence {
        let s = Silence(id: UUID().uuidString.lowercased(), matcher: matcher, startsAt: startsAt, endsAt: endsAt, reason: reason, createdBy: createdBy)
        try await database.transaction { tx in
            try await tx.sql.raw(
                """
                INSERT INTO hh_alarm_silence (id, matcher, starts_ms, ends_ms, reason, created_by, created_ms)
                VALUES (\(bind: s.id), \(bind: s.matcher), \(bind: Self.millis(s.startsAt)), \(bind: Self.millis(s.endsAt)), \(bind: s.reason), \(bind: s.createdBy), \(bind: Self.millis(Now.date.timeIntervalSince1970)))
                """
            ).run()
        }
        return s
    }

    /// Ends a silence now; false when there is no such silence.
    package func expireSilence(id: String, at time: Double) async throws -> Bool {
        try await database.transaction { tx in
            let found = try await tx.sql.raw("SELECT id FROM hh_alarm_silence WHERE id = \(bind: id)").first() != nil
            if found {
                try await tx.sql.raw("UPDATE hh_alarm_silence SET ends_ms = \(bind: Self.millis(time)) WHERE id = \(bind: id) AND ends_ms > \(bind: Self.millis(time))").run()
            }
            return found
        }
    }

    /// Silences that have not ended by `time`.
    package func silences(activeAfter time: Double) async throws -> [Silence] {
        try await database.read { db in
            try await db.raw("SELECT id, matcher, starts_ms, ends_ms, reason, created_by FROM hh_alarm_silence WHERE ends_ms > \(bind: Self.millis(time)) ORDER BY starts_ms").all()
                .map { row in
                    Silence(
                        id: try row.decode(column: "id", as: String.self), matcher: try row.decode(column: "matcher", as: String.self),
                        startsAt: Double(try row.decode(column: "starts_ms", as: Int64.self)) / 1000,
                        endsAt: Double(try row.decode(column: "ends_ms", as: Int64.self)) / 1000,
                        reason: try row.decode(column: "reason", as: String.self), createdBy: try row.decode(column: "created_by", as: String.self))
                }
        }
    }

    // MARK: Starts and uptime

    /// Records this process's start; returns how many starts this instance had in the last hour.
    /// Also the moment to forget old facts: starts after 31 days, history after 90, silences 30
    /// days after they ended, states of instances not heard of for 30 days.
    package func recordStart(at time: Double) async throws -> Int {
        let instance = instance
        return try await database.transaction { tx in
            try await tx.sql.raw("INSERT INTO hh_instance_start (instance, started_ms) VALUES (\(bind: instance), \(bind: Self.millis(time)))").run()
            try await tx.sql.raw("DELETE FROM hh_instance_start WHERE started_ms < \(bind: Self.millis(time - 31 * 86400))").run()
            try await tx.sql.raw("DELETE FROM hh_alarm_history WHERE at_ms < \(bind: Self.millis(time - 90 * 86400))").run()
            try await tx.sql.raw("DELETE FROM hh_alarm_silence WHERE ends_ms < \(bind: Self.millis(time - 30 * 86400))").run()
            try await tx.sql.raw(
                """
                DELETE FROM hh_alarm_state WHERE instance <> \(bind: instance) AND instance NOT IN
                  (SELECT instance FROM hh_uptime_instance WHERE last_ms >= \(bind: Self.millis(time - 30 * 86400)))
                """
            ).run()
            return try await Self.starts(tx.sql, instance: instance, since: time - 3600)
        }
    }

    package func starts(since time: Double) async throws -> Int {
        let instance = instance
        return try await database.read { try await Self.starts($0, instance: instance, since: time) }
    }

    static func starts(_ db: any SQLDatabase, instance: String, since time: Double) async throws -> Int {
        try await db.raw("SELECT COUNT(*) AS n FROM hh_instance_start WHERE instance = \(bind: instance) AND started_ms >= \(bind: Self.millis(time))")
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }
}
