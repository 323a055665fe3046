import Foundation
import Kernel
import PostgresNIO
import SQLiteNIO
import SQLKit
import Telemetry
import Tracing

/// A database that reports every read and transaction to telemetry: latency, connections in
/// use (leased or waited for, against `poolSize`) and failures of the database itself. A
/// conflict (another writer won) and errors thrown by the caller's own code are not database
/// errors and are not counted as such.
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
            let system = dialect == .sqlite ? "sqlite" : "postgresql"
            let result = try await withSpan(name, ofKind: .client) { span in
                span.attributes["db.system"] = system
                return try await operation()
            }
            telemetry.databaseOperation(seconds: (ContinuousClock.now - start).seconds, failed: false)
            return result
        } catch {
            telemetry.databaseOperation(seconds: (ContinuousClock.now - start).seconds, failed: Self.isDatabaseFault(error))
            throw error
        }
    }

    /// Errors raised by the database engine or its connection, not by the caller's logic.
    package static func isDatabaseFault(_ error: any Error) -> Bool {
        if let storage = error as? StorageError { return storage != .conflict }
        return error is SQLiteError || error is PSQLError
    }
}
