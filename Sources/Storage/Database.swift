import Logging
import SQLKit

/// The two SQL engines HealthHub runs on. Queries are shared; only DDL types and a few
/// engine features (advisory locks, LIKE indexes) differ, and they are asked for here.
package enum DatabaseDialect: String, Sendable {
    case sqlite, postgres

    package var blobType: String { self == .sqlite ? "BLOB" : "BYTEA" }
    package var bigintType: String { self == .sqlite ? "INTEGER" : "BIGINT" }
    package var doubleType: String { self == .sqlite ? "REAL" : "DOUBLE PRECISION" }
    /// Index operator class that lets `LIKE 'prefix%'` use a btree index.
    package var prefixPatternOps: String { self == .sqlite ? "" : " text_pattern_ops" }
}

/// A database the product can read from and write to in transactions.
package protocol Database: Sendable {
    var dialect: DatabaseDialect { get }
    /// Connections the store can hand out at once (SQLite: readers + the writer).
    var poolSize: Int { get }
    /// Runs `body` on a connection for reading (SQLite: one of the reader connections).
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @Sendable (DatabaseTransaction) async throws -> T) async throws -> T
    func shutdown() async
    /// Refreshes the planner's statistics (after bulk loads, at start, and periodically), so
    /// searches drive from the most selective index.
    func optimize() async throws
}

/// The connection of an open transaction.
package struct DatabaseTransaction: Sendable {
    package let sql: any SQLDatabase
    package let dialect: DatabaseDialect

    package init(sql: any SQLDatabase, dialect: DatabaseDialect) {
        self.sql = sql
        self.dialect = dialect
    }

    /// Serializes transactions that use the same key until this one ends (PostgreSQL advisory
    /// transaction lock). SQLite transactions are serialized already, so it is a no-op there.
    package func lock(_ key: String) async throws {
        guard dialect == .postgres else { return }
        try await sql.raw("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: key), 0))").run()
    }
}

package enum DatabaseFactory {
    /// Opens the database a URL names.
    package static func open(_ url: DatabaseURL, logger: Logger) async throws -> any Database {
        switch url {
        case .sqlite(let path): try await SQLiteStore.open(path: path, logger: logger)
        case .postgres(let target): try await PostgresStore.open(target, logger: logger)
        }
    }
}
