import Foundation
import SQLKit
import Storage
import TestSupport
import Testing

@Suite struct DatabaseURLTests {
    @Test func parsesSQLiteForms() throws {
        #expect(try DatabaseURL("sqlite:///var/lib/hh.db") == .sqlite(path: "/var/lib/hh.db"))
        #expect(try DatabaseURL("sqlite://data/healthhub.db") == .sqlite(path: "data/healthhub.db"))
    }

    @Test func parsesPostgresWithDefaults() throws {
        guard case .postgres(let t) = try DatabaseURL("postgres://alice:s%40cret@db.internal:6543/hh?sslmode=require") else {
            Issue.record("not postgres")
            return
        }
        #expect(t.host == "db.internal")
        #expect(t.port == 6543)
        #expect(t.username == "alice")
        #expect(t.password == "s@cret")
        #expect(t.database == "hh")
        #expect(t.sslMode == "require")
    }

    @Test func descriptionHidesThePassword() throws {
        let url = try DatabaseURL("postgres://alice:secret@h:5432/hh")
        #expect(!url.description.contains("secret"))
    }

    @Test(arguments: ["mysql://x/y", "sqlite://", "postgres://h:5432/", "postgres://h/db?sslmode=maybe"])
    func rejectsBadURLs(_ text: String) {
        #expect(throws: StorageError.self) { try DatabaseURL(text) }
    }
}

let sampleMigrations = MigrationRunner([
    Migration("test.001-notes") { d in ["CREATE TABLE t_note (id INTEGER PRIMARY KEY, body TEXT NOT NULL, data \(d.blobType))"] },
    Migration("test.002-notes-index") { _ in ["CREATE INDEX t_note_body ON t_note (body)"] },
])

@Suite struct DatabaseTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func migrationsApplyOnceInOrder(_ kind: TestDatabaseKind) async throws {
        // given: a fresh database (PostgreSQL copies come pre-migrated, so start from SQLite semantics)
        let url = try await TestDatabases.freshURL(kind, migrations: MigrationRunner([]))
        let db = try await DatabaseFactory.open(url, logger: TestDatabases.logger)
        do {
            // when
            let first = try await sampleMigrations.migrate(db)
            let second = try await sampleMigrations.migrate(db)
            // then
            #expect(first == ["test.001-notes", "test.002-notes-index"])
            #expect(second.isEmpty)
            #expect(try await sampleMigrations.pending(db).isEmpty)
            let extended = MigrationRunner(sampleMigrations.migrations + [Migration("test.003-more") { _ in ["CREATE TABLE t_more (x INTEGER)"] }])
            #expect(try await extended.pending(db) == ["test.003-more"])
        } catch {
            await db.shutdown()
            throw error
        }
        await db.shutdown()
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func failedTransactionLeavesNothing(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: sampleMigrations) { db in
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await db.transaction { tx in
                    try await tx.sql.raw("INSERT INTO t_note (id, body) VALUES (1, 'kept?')").run()
                    throw Boom()
                }
            }
            let count = try await db.read { try await $0.raw("SELECT COUNT(*) AS n FROM t_note").first()?.decode(column: "n", as: Int.self) }
            #expect(count == 0)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func blobsAndTextRoundTrip(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: sampleMigrations) { db in
            let bytes = Data([0, 1, 2, 255, 254])
            try await db.transaction { tx in
                try await tx.sql.raw("INSERT INTO t_note (id, body, data) VALUES (7, \(bind: "naïve ünïcode"), \(bind: bytes))").run()
            }
            let row = try await db.read { try await $0.raw("SELECT body, data FROM t_note WHERE id = 7").first() }
            #expect(try row?.decode(column: "body", as: String.self) == "naïve ünïcode")
            #expect(try row?.decode(column: "data", as: Data.self) == bytes)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func concurrentIncrementsUnderLockAreNotLost(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: sampleMigrations) { db in
            try await db.transaction { try await $0.sql.raw("INSERT INTO t_note (id, body) VALUES (1, '0')").run() }
            // when: 20 concurrent read-modify-write transactions serialized by the lock
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await db.transaction { tx in
                            try await tx.lock("counter")
                            let n = Int(try await tx.sql.raw("SELECT body FROM t_note WHERE id = 1").first()!.decode(column: "body", as: String.self))!
                            try await tx.sql.raw("UPDATE t_note SET body = \(bind: String(n + 1)) WHERE id = 1").run()
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try await db.read { try await $0.raw("SELECT body FROM t_note WHERE id = 1").first()?.decode(column: "body", as: String.self) }
            #expect(final == "20")
        }
    }
}
