import Logging
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit

/// PostgreSQL through postgres-nio's `PostgresClient` (a Sendable connection pool). The client's
/// `run()` loop lives in a task owned by this store and ends at `shutdown()`.
package final class PostgresStore: Database {
    package let dialect = DatabaseDialect.postgres
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    package let poolSize: Int

    private init(client: PostgresClient, runTask: Task<Void, Never>, poolSize: Int) {
        self.client = client
        self.runTask = runTask
        self.poolSize = poolSize
    }

    package static func open(_ target: DatabaseURL.PostgresTarget, logger: Logger) async throws -> PostgresStore {
        let tls: PostgresClient.Configuration.TLS =
            switch target.sslMode {
            case "disable": .disable
            case "require": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: target.host, port: target.port, username: target.username,
            password: target.password, database: target.database, tls: tls)
        configuration.options.maximumConnections = target.maxConnections
        configuration.options.minimumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runTask = Task { await client.run() }
        let store = PostgresStore(client: client, runTask: runTask, poolSize: target.maxConnections)
        do {
            // Fail fast with a clear error when the server is unreachable.
            try await store.read { try await $0.raw("SELECT 1").run() }
        } catch {
            await store.shutdown()
            throw StorageError.unavailable("cannot connect to PostgreSQL at \(target.host):\(target.port)/\(target.database): \(String(reflecting: error).prefix(300))")
        }
        return store
    }

    package func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    package func transaction<T: Sendable>(_ body: @Sendable (DatabaseTransaction) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let db = connection.sql(queryLogLevel: nil)
            try await db.raw("BEGIN").run()
            do {
                let result = try await body(DatabaseTransaction(sql: db, dialect: .postgres))
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                // Unique violation, deadlock, serialization failure: another transaction won.
                if let e = error as? PSQLError, let state = e.serverInfo?[.sqlState], ["23505", "40P01", "40001"].contains(state) {
                    throw StorageError.conflict
                }
                throw error
            }
        }
    }

    package func optimize() async throws {
        try await read { try await $0.raw("ANALYZE").run() }
    }

    package func shutdown() async {
        runTask.cancel()
        await runTask.value
    }
}
