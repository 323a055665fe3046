import Foundation
import Instrumentation
import Kernel
import PostgresNIO
import SQLKit
import SQLiteNIO
import Telemetry
import Tracing

/// A database that reports every read and transaction to telemetry: latency (of the whole
/// operation: waiting for a connection, the statements and the caller's work between them),
/// connections in use (leased or waited for, against `poolSize`) and failures of the database
/// itself. A conflict (another writer won) and errors thrown by the caller's own code are not
/// database errors and are not counted as such.
package struct InstrumentedDatabase: Database {
    let base: any Database
    let telemetry: Telemetry

    package init(_ base: any Database, telemetry: Telemetry) {
        self.base = base
        self.telemetry = telemetry
        telemetry.set(.dbPoolSize, Double(base.poolSize))
    }

    package var dialect: DatabaseDialect { base.dialect }
    package var poolSize: Int { base.poolSize }

    package func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await measure("db.read") { try await base.read(body) }
    }

    package func transaction<T: Sendable>(_ body: @Sendable (DatabaseTransaction) async throws -> T) async throws -> T {
        try await measure("db.transaction") { try await base.transaction(body) }
    }

    package func optimize() async throws { try await measure("db.optimize") { try await base.optimize() } }

    package func shutdown() async { await base.shutdown() }

    /// Times the operation, counts it, and wraps it in a client span of the process's tracer
    /// (no statement text: bound values stay out of traces as they stay out of logs).
    private func measure<T>(_ name: String, _ operation: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        telemetry.databaseLeased(1)
        defer { telemetry.databaseLeased(-1) }
        do {
            let result: T
            if ServiceContext.current != nil {
                // Inside a traced request: a child span. Background work (checkpoints, alarms)
                // would only make a root trace per query, so it gets none.
                let system = dialect == .sqlite ? "sqlite" : "postgresql"
                result = try await withSpan(name, ofKind: .client) { span in
                    span.attributes["db.system"] = system
                    return try await operation()
                }
            } else {
                result = try await operation()
            }
            telemetry.databaseOperation(seconds: (ContinuousClock.now - start).seconds, failed: false)
            return result
        } catch {
            telemetry.databaseOperation(seconds: (ContinuousClock.now - start).seconds, failed: Self.isDatabaseFault(error))
            throw error
        }
    }

    /// Errors of the database itself — connection lost, out of resources, I/O, corruption, or SQL
    /// the database refuses (a bug) — not outcomes of the request's data: conflicts, constraint
    /// and data errors, cancelled queries.
    package static func isDatabaseFault(_ error: any Error) -> Bool {
        if let storage = error as? StorageError { return storage != .conflict }
        if let sqlite = error as? SQLiteError {
            let reason = String(describing: sqlite.reason)
            return !(reason.hasPrefix("constraint") || ["mismatch", "range", "tooBig", "interrupt"].contains(reason))
        }
        if let postgres = error as? PSQLError {
            guard let state = postgres.serverInfo?[.sqlState] else { return true }  // no server answer: connection trouble
            return ["08", "42", "53", "54", "55", "58", "F0", "XX"].contains(String(state.prefix(2))) || (state.hasPrefix("57") && state != "57014")
        }
        return false
    }
}
