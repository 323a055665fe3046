import Foundation
import Kernel
import SQLKit
import Storage

/// Availability from probes: every minute each instance probes its components and adds the
/// results to hourly tallies. Minutes in which an instance was down (between its last probe and
/// its restart) are added as failed probes of every component, so a server that was off counts
/// as unavailable rather than as missing data.
package struct UptimeStore: Sendable {
    let database: any Database
    let instance: String
    /// Longest gap that is filled in as downtime (beyond it, the instance was retired, not down).
    package static let maximumGap = 7.0 * 86400
    package static let components = ["api", "database", "storage", "audit"]

    package init(database: any Database, instance: String) {
        self.database = database
        self.instance = instance
    }

    static func hour(_ t: Double) -> Int64 { Int64(t / 3600) * 3_600_000 }

    /// Adds one round of probe results taken at `time`; the first round after a gap also adds
    /// the missed minutes as failures. Returns the number of minutes counted as missed.
    @discardableResult
    package func record(_ results: [String: Bool], at time: Double) async throws -> Int {
        let instance = instance
        return try await database.transaction { tx in
            let last = try await tx.sql.raw("SELECT last_ms FROM hh_uptime_instance WHERE instance = \(bind: instance)").first()?
                .decode(column: "last_ms", as: Int64.self)
            var missed = 0
            if let last {
                let gap = time - Double(last) / 1000
                if gap > 90, gap < Self.maximumGap { missed = Int(gap / 60) - 1 }
            }
            try await tx.sql.raw("DELETE FROM hh_uptime_instance WHERE instance = \(bind: instance)").run()
            try await tx.sql.raw("INSERT INTO hh_uptime_instance (instance, last_ms) VALUES (\(bind: instance), \(bind: AlarmStore.millis(time)))").run()
            for (component, ok) in results.sorted(by: { $0.key < $1.key }) {
                try await Self.add(tx.sql, component: component, hour: Self.hour(time), ok: ok ? 1 : 0, total: 1 + missed)
            }
            try await tx.sql.raw("DELETE FROM hh_uptime WHERE hour_ms < \(bind: Self.hour(time - 40 * 86400))").run()
            return missed
        }
    }

    static func add(_ db: any SQLDatabase, component: String, hour: Int64, ok: Int, total: Int) async throws {
        try await db.raw(
            """
            INSERT INTO hh_uptime (component, hour_ms, ok, total) VALUES (\(bind: component), \(bind: hour), \(bind: ok), \(bind: total))
            ON CONFLICT (component, hour_ms) DO UPDATE SET ok = hh_uptime.ok + excluded.ok, total = hh_uptime.total + excluded.total
            """
        ).run()
    }

    /// One component's availability over a window.
    package struct Availability: Sendable, Codable, Equatable {
        package var component: String
        /// Passed probes over all probes (missed minutes included); nil before the first probe.
        package var availability: Double?
        package var probes: Int
    }

    package func availability(days: Double = 30, now: Double = Now.date.timeIntervalSince1970) async throws -> [Availability] {
        let since = Self.hour(now - days * 86400)
        let rows = try await database.read { db in
            try await db.raw("SELECT component, hour_ms, ok, total FROM hh_uptime WHERE hour_ms >= \(bind: since)").all().map { row in
                (
                    try row.decode(column: "component", as: String.self), try row.decode(column: "hour_ms", as: Int64.self),
                    try row.decode(column: "ok", as: Int.self), try row.decode(column: "total", as: Int.self)
                )
            }
        }
        return Self.components.map { component in
            let mine = rows.filter { $0.0 == component }
            let ok = mine.reduce(0) { $0 + $1.2 }
            let total = mine.reduce(0) { $0 + $1.3 }
            return Availability(component: component, availability: total > 0 ? Double(ok) / Double(total) : nil, probes: total)
        }
    }
}
