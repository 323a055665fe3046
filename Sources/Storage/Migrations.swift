import Foundation
import Kernel
import SQLKit

/// One forward-only schema change. Ids are `module.NNN` and never reused.
package struct Migration: Sendable {
    package let id: String
    package let statements: @Sendable (DatabaseDialect) -> [String]

    package init(_ id: String, _ statements: @escaping @Sendable (DatabaseDialect) -> [String]) {
        self.id = id
        self.statements = statements
    }
}

/// Applies the migrations that are not yet applied, in order, in one transaction, holding a
/// lock so that several instances starting at once apply each migration exactly once.
package struct MigrationRunner: Sendable {
    package let migrations: [Migration]

    package init(_ migrations: [Migration]) {
        precondition(Set(migrations.map(\.id)).count == migrations.count, "duplicate migration id")
        self.migrations = migrations
    }

    /// Returns the ids it applied.
    @discardableResult
    package func migrate(_ database: any Database) async throws -> [String] {
        try await database.transaction { tx in
            try await tx.lock("healthhub.migrations")
            try await tx.sql.raw("CREATE TABLE IF NOT EXISTS hh_schema_migration (id TEXT PRIMARY KEY, applied_at \(unsafeRaw: tx.dialect.bigintType) NOT NULL)").run()
            let applied = Set(try await tx.sql.raw("SELECT id FROM hh_schema_migration").all().map { try $0.decode(column: "id", as: String.self) })
            var done: [String] = []
            for migration in migrations where !applied.contains(migration.id) {
                for statement in migration.statements(tx.dialect) {
                    do {
                        try await tx.sql.raw("\(unsafeRaw: statement)").run()
                    } catch {
                        throw StorageError.migrationFailed(id: migration.id, reason: String(reflecting: error).prefix(500).description)
                    }
                }
                try await tx.sql.raw("INSERT INTO hh_schema_migration (id, applied_at) VALUES (\(bind: migration.id), \(bind: Int64(Now.date.timeIntervalSince1970)))").run()
                done.append(migration.id)
            }
            return done
        }
    }

    /// Ids not yet applied (for `/ready` and `migrate --dry-run`).
    package func pending(_ database: any Database) async throws -> [String] {
        let applied: Set<String> = try await database.read { db in
            // A database never migrated has no table yet; any other failure is reported as it is.
            let exists =
                try await db.raw(
                    db.dialect.name == "sqlite"
                        ? "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'hh_schema_migration'"
                        : "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'hh_schema_migration' AND table_schema = current_schema()"
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            guard exists > 0 else { return [] }
            return Set(try await db.raw("SELECT id FROM hh_schema_migration").all().map { try $0.decode(column: "id", as: String.self) })
        }
        return migrations.map(\.id).filter { !applied.contains($0) }
    }
}
