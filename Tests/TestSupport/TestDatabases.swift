import Foundation
import Logging
import SQLKit
import Storage

/// The two databases every storage test runs on.
package enum TestDatabaseKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    package var description: String { rawValue }
}

package struct TestDatabaseError: Error, CustomStringConvertible {
    package let description: String
    package init(description: String) { self.description = description }
}

/// Fresh, isolated databases for tests. SQLite: a new file in a temp folder. PostgreSQL: a new
/// database copied from a migrated template (`CREATE DATABASE ... TEMPLATE`), on the server
/// named by `HEALTHHUB_TEST_POSTGRES_URL` (scripts/test starts a throwaway one).
package enum TestDatabases {
    package static let logger: Logger = {
        var l = Logger(label: "test")
        l.logLevel = .warning
        return l
    }()

    /// A URL for a new empty database. For PostgreSQL it is already migrated with `migrations`.
    package static func freshURL(_ kind: TestDatabaseKind, migrations: MigrationRunner) async throws -> DatabaseURL {
        switch kind {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hh-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return .sqlite(path: dir.appendingPathComponent("test.db").path)
        case .postgres:
            return try await PostgresTemplates.shared.freshDatabase(migrations: migrations)
        }
    }

    /// Removes the folder of a SQLite database `freshURL` made, once it is shut down (a suite
    /// makes hundreds; kept, they filled a disk once). PostgreSQL test databases go with the
    /// throwaway server scripts/test starts and stops.
    package static func discard(_ url: DatabaseURL) {
        if case .sqlite(let path) = url { try? FileManager.default.removeItem(at: URL(fileURLWithPath: path).deletingLastPathComponent()) }
    }

    /// Runs `body` on a fresh, migrated database, then shuts it down and discards it, also on failure.
    package static func with<T>(_ kind: TestDatabaseKind, migrations: MigrationRunner, _ body: (any Database) async throws -> T) async throws -> T {
        let url = try await freshURL(kind, migrations: migrations)
        let db = try await DatabaseFactory.open(url, logger: logger)
        do {
            try await migrations.migrate(db)
            let result = try await body(db)
            await db.shutdown()
            discard(url)
            return result
        } catch {
            await db.shutdown()
            discard(url)
            throw error
        }
    }

    /// Opens a fresh database; the caller shuts it down.
    package static func open(_ kind: TestDatabaseKind, migrations: MigrationRunner) async throws -> any Database {
        let db = try await DatabaseFactory.open(try await freshURL(kind, migrations: migrations), logger: logger)
        try await migrations.migrate(db)
        return db
    }
}

/// Creates one migrated template per migration set, then copies it per test.
///
/// Swift Testing starts every test at once, so hundreds of calls arrive together. The admin
/// pool and each template are made once, by the first caller, as a task the others await: the
/// actor is reentrant at every `await`, and checking a stored value instead let each of ~150
/// concurrent callers open its own admin pool and build its own template (145 idle admin
/// connections were seen when the suite hung on a busy cluster).
actor PostgresTemplates {
    static let shared = PostgresTemplates()
    private var admin: Task<any Database, any Error>?
    private var templates: [String: Task<String, any Error>] = [:]

    func adminTarget() throws -> DatabaseURL.PostgresTarget {
        guard let text = ProcessInfo.processInfo.environment["HEALTHHUB_TEST_POSTGRES_URL"] else {
            throw TestDatabaseError(
                description:
                    "HEALTHHUB_TEST_POSTGRES_URL is not set: run the suite with scripts/test, which starts a throwaway PostgreSQL (every storage test runs on SQLite and PostgreSQL)"
            )
        }
        guard case .postgres(let target) = try DatabaseURL(text) else {
            throw TestDatabaseError(description: "HEALTHHUB_TEST_POSTGRES_URL must be a postgres:// URL")
        }
        return target
    }

    func freshDatabase(migrations: MigrationRunner) async throws -> DatabaseURL {
        var target = try adminTarget()
        let admin = try await adminDatabase(target).value
        let template = try await template(for: migrations, admin: admin, target: target).value
        let name = "hh_t_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        try await admin.read { try await $0.raw("CREATE DATABASE \(unsafeRaw: name) TEMPLATE \(unsafeRaw: template)").run() }
        target.database = name
        target.maxConnections = 8
        return .postgres(target)
    }

    private func template(for migrations: MigrationRunner, admin: any Database, target: DatabaseURL.PostgresTarget) -> Task<String, any Error> {
        let key = migrations.migrations.map(\.id).joined(separator: ",")
        if let existing = templates[key] { return existing }
        let task = Task<String, any Error> {
            let template = "hh_tpl_\(UUID().uuidString.prefix(8).lowercased())"
            try await admin.read { try await $0.raw("CREATE DATABASE \(unsafeRaw: template)").run() }
            var t = target
            t.database = template
            t.maxConnections = 2
            let db = try await DatabaseFactory.open(.postgres(t), logger: TestDatabases.logger)
            do { try await migrations.migrate(db) } catch { await db.shutdown(); throw error }
            await db.shutdown()
            return template
        }
        templates[key] = task
        return task
    }

    private func adminDatabase(_ target: DatabaseURL.PostgresTarget) -> Task<any Database, any Error> {
        if let admin { return admin }
        var t = target
        t.maxConnections = 2
        let task = Task<any Database, any Error> { try await DatabaseFactory.open(.postgres(t), logger: TestDatabases.logger) }
        admin = task
        return task
    }
}
