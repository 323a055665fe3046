import FHIR
import Foundation
import Kernel
import Logging
import NIOCore
import SQLKit
import Sealing
import Storage
import Synchronization
import TestSupport
import Testing

/// Asks the database for the plan of every query sent through it (`EXPLAIN QUERY PLAN` on
/// SQLite, `EXPLAIN` on PostgreSQL), then runs the query.
/// The plan of a query, as the database reports it.
func explain(_ query: any SQLExpression, on base: any SQLDatabase) async throws -> [String] {
    let isSQLite = base.dialect.name == "sqlite"
    let rows = try await base.raw("\(unsafeRaw: isSQLite ? "EXPLAIN QUERY PLAN" : "EXPLAIN") \(query)").all()
    return try rows.map { try $0.decode(column: isSQLite ? "detail" : "QUERY PLAN", as: String.self) }
}

final class PlanLog: Sendable {
    private let entries = Mutex<[[String]]>([])
    func append(_ plan: [String]) { entries.withLock { $0.append(plan) } }
    var plans: [[String]] { entries.withLock { $0 } }
}

/// The hottest queries (read by id; search by patient and code, for a backend client and under a
/// patient's compartment limit) are answered from indexes on both databases: no full scan of a
/// table. On PostgreSQL sequential scans are switched off for the check, so a plan with one
/// means no index can serve the query (tiny test tables would make the planner prefer scans).
@Suite struct QueryPlanTests {
    static let migrations = MigrationRunner(Keyring.migrations + FHIRMigrations.all + AccessPolicy.careMigrations)
    static let policy = AccessPolicy(definitions: R4.definitions)

    func plans(_ kind: TestDatabaseKind, _ body: @Sendable (ResourceStore, SearchEngine, any SQLDatabase) async throws -> Void) async throws -> [[String]] {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let key = try MasterKey.load(environmentValue: Data(count: 32).base64EncodedString(), keyFile: nil, mayCreate: false)
            let store = ResourceStore(
                database: db, keyring: try await Keyring.load(from: db, masterKey: key),
                indexer: SearchIndexer(definitions: R4.definitions, registry: R4.registry), clock: SystemClock())
            let engine = SearchEngine(definitions: R4.definitions, registry: R4.registry, store: store)
            return try await db.transaction { tx in
                if kind == .postgres { try await tx.sql.raw("SET LOCAL enable_seqscan = off").run() }
                let log = PlanLog()
                let explaining = ObservedSQLDatabase(base: tx.sql) { query, base in log.append(try await explain(query, on: base)) }
                try await body(store, engine, explaining)
                return log.plans
            }
        }
    }

    func fullScans(_ plans: [[String]]) -> [String] {
        plans.flatMap { $0 }.filter { line in
            line.contains("Seq Scan") || line.range(of: #"^SCAN [a-z_]+( AS [a-z_0-9]+)?$"#, options: .regularExpression) != nil
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func readSearchAndCompartmentSearchUseIndexes(_ kind: TestDatabaseKind) async throws {
        let plans = try await plans(kind) { store, engine, db in
            _ = try await store.read("Patient", "p1", on: db)
            let request = try SearchRequest(type: "Observation", pairs: [("patient", "p1"), ("code", "http://loinc.org|8867-4")], registry: R4.registry, strict: true)
            let system = Principal(subject: "c", role: .system, reference: "Client/c", clientID: "c", scopes: ScopeSet("system/*.rs"))
            _ = try await engine.search(request, access: RequestAccess(principal: system, policy: Self.policy), on: db)
            let patient = Principal(subject: "u", role: .patient, reference: "Patient/p1", patient: "p1", scopes: ScopeSet("patient/*.rs"))
            _ = try await engine.search(request, access: RequestAccess(principal: patient, policy: Self.policy), on: db)
        }
        #expect(plans.count >= 3)
        #expect(fullScans(plans) == [], "\(plans)")
    }
}
