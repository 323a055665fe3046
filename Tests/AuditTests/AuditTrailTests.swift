import Audit
import Foundation
import Kernel
import SQLKit
import Sealing
import Storage
import TestSupport
import Testing

/// Renders each record as `{"event":N}` with N its request id, so the chained bytes are known.
struct NumberedRenderer: AuditEventRendering {
    func render(_ record: AuditRecord, id: String, recorded millis: Int64) -> Data { Data(#"{"event":\#(record.requestID ?? "")}"#.utf8) }
}

@Suite struct AuditChainKnownAnswerTests {
    /// `hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ bytes)` from 64 zeros, computed independently
    /// (Python's hashlib) for these inputs.
    @Test func theLinkFormulaGivesTheKnownHashes() {
        #expect(AuditChain.genesis == String(repeating: "0", count: 64))
        #expect(AuditChain.link(AuditChain.genesis, Data("x".utf8)) == "0152f4f98e11e409b35bfa9b5e18c329427b7f29deedbc071733db222ce38158")
        let first = AuditChain.link(AuditChain.genesis, Data(#"{"event":1}"#.utf8))
        #expect(first == "270ff98386f26d9d24dc129d23411afeb358ddc45ef32c5a4bb33eece73e8354")
        #expect(AuditChain.link(first, Data(#"{"event":2}"#.utf8)) == "4c620dc8133aa861a37559498b25796c760a1fa1f4bdc73a345647015fbeba1c")
    }
}

@Suite struct AuditTrailStorageTests {
    /// `audit.002` moves events of the first layout out of the FHIR store's tables, so it needs
    /// them to exist (in HealthHub, the FHIR migrations run first); these are their columns it reads.
    static let formerFHIRTables = Migration("test.000-former-fhir-tables") { d in
        ["hh_idx_string", "hh_idx_date", "hh_idx_number", "hh_idx_quantity", "hh_idx_uri", "hh_resource_history"].map { "CREATE TABLE \($0) (res_type TEXT, res_id TEXT)" } + [
            "CREATE TABLE hh_idx_token (res_type TEXT, res_id TEXT, param TEXT, code TEXT)",
            "CREATE TABLE hh_idx_reference (res_type TEXT, res_id TEXT, param TEXT, target_type TEXT, target_id TEXT)",
            "CREATE TABLE hh_resource (res_type TEXT, res_id TEXT, key_id TEXT, content \(d.blobType))",
        ]
    }
    static let migrations = MigrationRunner(Keyring.migrations + [formerFHIRTables] + AuditTrail.migrations)

    func trail(_ db: any Database) async throws -> AuditTrail {
        let key = try MasterKey.load(environmentValue: Data(repeating: 9, count: 32).base64EncodedString(), keyFile: nil, mayCreate: false)
        return AuditTrail(database: db, keyring: try await Keyring.load(from: db, masterKey: key), renderer: NumberedRenderer())
    }

    func record(_ n: Int, agent: String = "Practitioner/7", patients: [String] = [], at seconds: TimeInterval) -> AuditRecord {
        AuditRecord(action: .read, interaction: "read", agent: agent, patients: patients, requestID: String(n), recorded: Date(timeIntervalSince1970: seconds))
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func storedChainHasTheKnownHashesAndVerifies(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let trail = try await trail(db)
            try await db.transaction { tx in try await trail.append([record(1, at: 1_000)], in: tx) }
            try await trail.appendSoon([record(2, at: 2_000)])
            let rows = try await db.read { try await $0.raw("SELECT seq, prev_hash, hash FROM hh_audit_event ORDER BY seq").all() }
            #expect(
                try rows.map { try $0.decode(column: "hash", as: String.self) } == [
                    "270ff98386f26d9d24dc129d23411afeb358ddc45ef32c5a4bb33eece73e8354",
                    "4c620dc8133aa861a37559498b25796c760a1fa1f4bdc73a345647015fbeba1c",
                ])
            #expect(try rows[1].decode(column: "prev_hash", as: String.self) == "270ff98386f26d9d24dc129d23411afeb358ddc45ef32c5a4bb33eece73e8354")
            #expect(try await AuditVerifier(trail: trail).verify(checkpoints: nil) == .ok(records: 2))
            // The content is sealed: the stored column is not the rendered bytes.
            let stored = try await db.read { try await $0.raw("SELECT content FROM hh_audit_event WHERE seq = 1").first()?.decode(column: "content", as: Data.self) }
            #expect(stored != Data(#"{"event":1}"#.utf8))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func queriesFilterByEntityAgentAndTimeAndPage(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let trail = try await trail(db)
            try await trail.appendSoon([
                record(1, patients: ["Patient/a"], at: 1_000),
                record(2, agent: "Patient/b", patients: ["Patient/b"], at: 2_000),
                record(3, patients: ["Patient/a", "Patient/b"], at: 3_000),
            ])
            func numbers(_ q: AuditQuery) async throws -> [String] {
                try await trail.events(q).events.map { String(decoding: $0.content, as: UTF8.self) }
            }
            #expect(try await numbers(AuditQuery(clauses: [[.entity("Patient/a")]], count: 10)) == [#"{"event":3}"#, #"{"event":1}"#])
            #expect(try await numbers(AuditQuery(clauses: [[.entity("Patient/a")]], newestFirst: false, count: 10)) == [#"{"event":1}"#, #"{"event":3}"#])
            #expect(try await numbers(AuditQuery(clauses: [[.agent("Patient/b")]], count: 10)) == [#"{"event":2}"#])
            #expect(try await numbers(AuditQuery(clauses: [[.recorded(.atOrAfter, low: 2_000_000, high: 2_000_999)]], count: 10)) == [#"{"event":3}"#, #"{"event":2}"#])
            #expect(try await numbers(AuditQuery(clauses: [[.entity("Patient/a")], [.entity("Patient/b")]], count: 10)) == [#"{"event":3}"#])
            let page = try await trail.events(AuditQuery(count: 2, offset: 0, countTotal: true))
            #expect(page.events.count == 2 && page.hasMore && page.total == 3)
            let byID = try #require(try await trail.event(id: page.events[0].id))
            #expect(byID == page.events[0])
            #expect(try await trail.event(id: "missing") == nil)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func alteredContentIsABreakAtItsRecord(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let trail = try await trail(db)
            try await trail.appendSoon([record(1, at: 1_000), record(2, at: 2_000), record(3, at: 3_000)])
            let other = try await db.read { try await $0.raw("SELECT content FROM hh_audit_event WHERE seq = 3").first()!.decode(column: "content", as: Data.self) }
            try await db.transaction { tx in try await tx.sql.raw("UPDATE hh_audit_event SET content = \(bind: other) WHERE seq = 2").run() }
            guard case .broken(let seq, _) = try await AuditVerifier(trail: trail).verify(checkpoints: nil) else {
                Issue.record("a swapped record verified")
                return
            }
            #expect(seq == 2)
        }
    }
}

@Suite struct AuditQueryPlanTests {
    /// Every append reads the chain head; it must come from the primary key, not a scan and a
    /// sort. (On SQLite `seq` is the rowid, so the plan is a rowid-order scan stopped by LIMIT 1.)
    @Test(arguments: TestDatabaseKind.allCases)
    func theChainHeadComesFromAnIndex(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: AuditTrailStorageTests.migrations) { db in
            let plan = try await db.transaction { tx in
                if kind == .postgres { try await tx.sql.raw("SET LOCAL enable_seqscan = off").run() }
                let prefix = kind == .sqlite ? "EXPLAIN QUERY PLAN" : "EXPLAIN"
                return try await tx.sql.raw("\(unsafeRaw: prefix) SELECT seq, hash FROM hh_audit_event ORDER BY seq DESC LIMIT 1").all()
                    .map { try $0.decode(column: kind == .sqlite ? "detail" : "QUERY PLAN", as: String.self) }
            }
            #expect(plan.contains { $0.contains("Index Scan Backward using hh_audit_event_pkey") } || plan == ["SCAN hh_audit_event"], "\(plan)")
            #expect(!plan.contains { $0.contains("Seq Scan") || $0.contains("TEMP B-TREE") }, "\(plan)")
        }
    }
}
