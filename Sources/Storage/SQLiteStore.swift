import Foundation
import Logging
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// SQLite in WAL mode: one writer connection (SQLite allows one writer at a time anyway, and
/// queueing in-process is cheaper than `SQLITE_BUSY` retries) and a pool of reader connections.
/// Other processes on the same file (the CLI while a server runs) wait via `busy_timeout`.
package final class SQLiteStore: Database {
    package let dialect = DatabaseDialect.sqlite
    private let writer: ConnectionPool<SQLiteConnection>
    private let readers: ConnectionPool<SQLiteConnection>
    package let poolSize: Int

    private init(writer: ConnectionPool<SQLiteConnection>, readers: ConnectionPool<SQLiteConnection>, poolSize: Int) {
        self.writer = writer
        self.readers = readers
        self.poolSize = poolSize
    }

    package static func open(path: String, readerCount: Int = 4, logger: Logger) async throws -> SQLiteStore {
        // Always a file: WAL readers and the writer need separate connections to one database.
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let storage = SQLiteConnection.Storage.file(path: url.path)
        func connect(readOnly: Bool) async throws -> SQLiteConnection {
            let connection = try await SQLiteConnection.open(storage: storage, logger: logger)
            let db = connection.sql(queryLogLevel: nil)
            try await db.raw("PRAGMA busy_timeout = 10000").run()
            // Statement journals of multi-row inserts stay in memory.
            try await db.raw("PRAGMA temp_store = MEMORY").run()
            if !readOnly {
                try await db.raw("PRAGMA journal_mode = WAL").run()
                try await db.raw("PRAGMA synchronous = NORMAL").run()
            } else {
                try await db.raw("PRAGMA query_only = ON").run()
            }
            try await db.raw("PRAGMA foreign_keys = ON").run()
            try await db.raw("PRAGMA cache_size = -16000").run()
            return connection
        }
        let writerConnection = try await connect(readOnly: false)
        var readerConnections: [SQLiteConnection] = []
        for _ in 0..<max(1, readerCount) { readerConnections.append(try await connect(readOnly: true)) }
        return SQLiteStore(writer: ConnectionPool([writerConnection]), readers: ConnectionPool(readerConnections), poolSize: readerConnections.count + 1)
    }

    package func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let connection = await readers.lease()
        defer { readers.release(connection) }
        return try await body(connection.sql(queryLogLevel: nil))
    }

    package func transaction<T: Sendable>(_ body: @Sendable (DatabaseTransaction) async throws -> T) async throws -> T {
        let connection = await writer.lease()
        defer { writer.release(connection) }
        let db = connection.sql(queryLogLevel: nil)
        try await db.raw("BEGIN IMMEDIATE").run()
        do {
            let result = try await body(DatabaseTransaction(sql: db, dialect: .sqlite))
            try await db.raw("COMMIT").run()
            return result
        } catch {
            try? await db.raw("ROLLBACK").run()
            if let e = error as? SQLiteError, [.constraintUniqueFailed, .constraintPrimaryKeyFailed].contains(e.reason) {
                throw StorageError.conflict
            }
            throw error
        }
    }

    package func optimize() async throws {
        try await transaction { tx in
            // Bounded sampling keeps this fast on large databases.
            try await tx.sql.raw("PRAGMA analysis_limit = 2000").run()
            try await tx.sql.raw("ANALYZE").run()
        }
    }

    package func shutdown() async {
        for connection in writer.drain() + readers.drain() {
            try? await connection.close()
        }
    }
}

/// A fixed set of connections handed out one caller at a time, in arrival order. A lock, not an
/// actor: leasing an idle connection and giving it back are synchronous, with no task hop on the
/// hot read path.
final class ConnectionPool<Connection: Sendable>: Sendable {
    private struct State {
        var idle: [Connection]
        var waiters: [CheckedContinuation<Connection, Never>] = []
    }
    private let state: Mutex<State>

    init(_ connections: [Connection]) { state = Mutex(State(idle: connections)) }

    func lease() async -> Connection {
        if let connection = state.withLock({ $0.idle.popLast() }) { return connection }
        return await withCheckedContinuation { continuation in
            // Re-check under the lock: a connection may have come back meanwhile.
            let ready: Connection? = state.withLock { s in
                if let c = s.idle.popLast() { return c }
                s.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func release(_ connection: Connection) {
        let waiter: CheckedContinuation<Connection, Never>? = state.withLock { s in
            if s.waiters.isEmpty {
                s.idle.append(connection)
                return nil
            }
            return s.waiters.removeFirst()
        }
        waiter?.resume(returning: connection)
    }

    func drain() -> [Connection] {
        state.withLock { s in
            defer { s.idle = [] }
            return s.idle
        }
    }
}
