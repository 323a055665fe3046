import FHIR
import Foundation
import HTTPTypes
import Kernel
import Logging
import NIOCore
import SQLKit
import Sealing
import Storage
import Synchronization
import TestSupport
import Testing

/// A query as SQLite receives it: the text with `?n` placeholders and the bound values.
struct RenderedSQL: Sendable {
    let sql: String
    let binds: [String]
    /// The `res_id`s it returned (for queries run by `SQLFixture.run`).
    var rows: [String] = []

    /// The WHERE condition of a query built by `SQLFixture.matching`.
    var condition: String {
        guard sql.hasPrefix(SQLFixture.selectPrefix), sql.hasSuffix(SQLFixture.orderSuffix) else { return sql }
        return String(sql.dropFirst(SQLFixture.selectPrefix.count).dropLast(SQLFixture.orderSuffix.count))
    }
}

/// The SQL text of every query sent through it.
final class QueryLog: Sendable {
    private let entries = Mutex<[RenderedSQL]>([])
    func append(_ query: RenderedSQL) { entries.withLock { $0.append(query) } }
    var queries: [RenderedSQL] { entries.withLock { $0 } }

    /// `database`, recording every query it runs here first.
    func recording(_ database: any SQLDatabase) -> ObservedSQLDatabase {
        ObservedSQLDatabase(base: database) { query, base in
            let (sql, binds) = base.serialize(query)
            self.append(RenderedSQL(sql: sql, binds: binds.map { "\($0)" }))
        }
    }
}

/// Fresh migrated SQLite databases (a file each) that run SQL and searches.
enum SQLFixture {
    static let migrations = MigrationRunner(Keyring.migrations + FHIRMigrations.all + AccessPolicy.careMigrations)
    static let policy = AccessPolicy(definitions: R4.definitions)
    static let masterKey = Data(count: 32).base64EncodedString()
    static let selectPrefix = "SELECT r.res_id FROM hh_resource r WHERE "
    static let orderSuffix = " ORDER BY r.res_id"

    static func matching(_ condition: SQLQueryString) -> SQLQueryString {
        SQLQueryString(selectPrefix) + condition + SQLQueryString(orderSuffix)
    }

    /// Runs `setup` (literal SQL) in one transaction, then `body` on a reader connection.
    static func with<T: Sendable>(setup: [String], _ body: @Sendable (SearchEngine, any SQLDatabase) async throws -> T) async throws -> T {
        try await TestDatabases.with(.sqlite, migrations: migrations) { db in
            try await db.transaction { tx in
                for statement in setup { try await tx.sql.raw("\(unsafeRaw: statement)").run() }
            }
            let key = try MasterKey.load(environmentValue: masterKey, keyFile: nil, mayCreate: false)
            let store = ResourceStore(
                database: db, keyring: try await Keyring.load(from: db, masterKey: key),
                indexer: SearchIndexer(definitions: R4.definitions, registry: R4.registry), clock: SystemClock())
            let engine = SearchEngine(definitions: R4.definitions, registry: R4.registry, store: store)
            return try await db.read { sql in try await body(engine, sql) }
        }
    }

    /// Serializes and runs each query.
    static func run(_ queries: [SQLQueryString], setup: [String] = []) async throws -> [RenderedSQL] {
        try await with(setup: setup) { _, sql in
            var out: [RenderedSQL] = []
            for query in queries {
                let (text, binds) = sql.serialize(query)
                let rows = try await sql.raw(query).all().map { try $0.decode(column: "res_id", as: String.self) }
                out.append(RenderedSQL(sql: text, binds: binds.map { "\($0)" }, rows: rows))
            }
            return out
        }
    }

    /// `hh_resource` rows (current, not deleted) for `Type/id` references.
    static func resources(_ references: [String]) -> String {
        let rows = references.map { ref in
            let parts = ref.split(separator: "/")
            return "('\(parts[0])', '\(parts[1])', 1, 0, 0, 'k', X'00')"
        }
        return "INSERT INTO hh_resource (res_type, res_id, version, last_updated, deleted, key_id, content) VALUES " + rows.joined(separator: ", ")
    }
}

/// The ORDER BY of a search's page query (and the query's binds), or the error it answered.
struct SortRun: Sendable {
    var order = ""
    var binds: [String] = []
    var error: FHIRError?
}

/// One search as `SearchEngine` ran it: its WHERE condition and binds (the LIMIT left out),
/// the ids it matched, or the error it answered.
struct SearchRun: Sendable {
    var condition = ""
    var binds: [String] = []
    var ids: [String] = []
    var error: FHIRError?

    func occurrences(of fragment: String) -> Int { condition.components(separatedBy: fragment).count - 1 }
}

@Suite struct SearchSQLTests {
    static let unlimited = RequestAccess(healthHub: .importFiles, policy: SQLFixture.policy)

    func request(_ type: String, _ pairs: [(String, String)], strict: Bool = false) throws(FHIRError) -> SearchRequest {
        try SearchRequest(type: type, pairs: pairs, registry: R4.registry, strict: strict)
    }

    func request(_ type: String, _ query: String) throws(FHIRError) -> SearchRequest {
        try request(type, QueryString.decode(query))
    }

    /// Runs each search with `SearchEngine.matchingIDs` on one fresh database holding `setup`'s rows.
    func run(_ searches: [(SearchRequest, RequestAccess)], setup: [String] = []) async throws -> [SearchRun] {
        try await SQLFixture.with(setup: setup) { engine, sql in
            var out: [SearchRun] = []
            for (request, access) in searches {
                let log = QueryLog()
                var run = SearchRun()
                do {
                    run.ids = try await engine.matchingIDs(request, limit: 1000, access: access, for: .search, on: log.recording(sql))
                } catch let error as FHIRError {
                    run.error = error
                }
                if let query = log.queries.first, query.sql.hasPrefix(SQLFixture.selectPrefix),
                    let end = query.sql.range(of: " ORDER BY r.res_id LIMIT ?", options: .backwards)
                {
                    run.condition = String(query.sql[..<end.lowerBound].dropFirst(SQLFixture.selectPrefix.count))
                    run.binds = Array(query.binds.dropLast())
                }
                out.append(run)
            }
            return out
        }
    }

    func run(_ requests: [SearchRequest], setup: [String] = []) async throws -> [SearchRun] {
        try await run(requests.map { ($0, Self.unlimited) }, setup: setup)
    }

    func run(_ request: SearchRequest, setup: [String] = []) async throws -> SearchRun {
        try await run([request], setup: setup)[0]
    }

    // MARK: Shapes

    @Test func severalCodesBecomeOneBoundInList() async throws {
        let r = try await run(try request("Observation", "code=a,b,c"))
        #expect(
            r.condition
                == "r.res_type = ?1 AND r.deleted = 0 AND r.res_id IN (SELECT i.res_id FROM hh_idx_token i WHERE i.res_type = ?2 AND i.param = ?3 AND ((i.code IN (?4, ?5, ?6))))")
        #expect(r.binds == ["Observation", "Observation", "code", "a", "b", "c"])

        let codes = (1...SearchRequest.maxValues).map { "c\($0)" }
        let many = try await run(try request("Observation", [("code", codes.joined(separator: ","))]))
        #expect(many.occurrences(of: "i.code IN (") == 1)
        #expect(many.occurrences(of: " OR ") == 0)
        #expect(Array(many.binds.dropFirst(3)) == codes)
        #expect(many.condition.hasSuffix("?\(SearchRequest.maxValues + 3)))))"))
    }

    @Test func systemQualifiedCodesAreOneConditionEach() async throws {
        let all = try await run([
            try request("Patient", "identifier=http://sys|123"),
            try request("Patient", "identifier=|123"),
            try request("Patient", "identifier=http://sys|"),
            try request("Observation", "code=a,sys|b"),
        ])
        #expect(all[0].condition.hasSuffix("AND ((i.code = ?4 AND i.system = ?5)))"))
        #expect(all[0].binds.suffix(2) == ["123", "http://sys"])
        #expect(all[1].condition.hasSuffix("AND ((i.system = '' AND i.code = ?4)))"))
        #expect(all[2].condition.hasSuffix("AND ((i.system = ?4)))"))
        #expect(all[3].condition.hasSuffix("AND (((i.code = ?4 AND i.system = ?5) OR (i.code = ?6))))"))
        #expect(all[3].binds.suffix(3) == ["b", "sys", "a"])
    }

    @Test func theMostSelectiveClauseDrivesAndTheOthersProbe() async throws {
        let all = try await run([
            try request("Observation", "date=ge2020&code=x&_id=o1"),
            try request("Observation", "status:not=final&code=x"),
        ])
        #expect(
            all[0].condition == "r.res_type = ?1 AND r.deleted = 0 AND r.res_id IN (?2)"
                + " AND EXISTS (SELECT 1 FROM hh_idx_token i WHERE i.res_type = r.res_type AND i.res_id = r.res_id AND i.param = ?3 AND ((i.code = ?4)))"
                + " AND EXISTS (SELECT 1 FROM hh_idx_date i WHERE i.res_type = r.res_type AND i.res_id = r.res_id AND i.param = ?5 AND ((i.high >= ?6)))")
        #expect(all[0].binds == ["Observation", "o1", "code", "x", "date", "1577836800000"])

        let negated = all[1]
        #expect(negated.condition.contains(" AND r.res_id IN (SELECT i.res_id FROM hh_idx_token i WHERE i.res_type = ?2 AND i.param = ?3"))
        #expect(negated.condition.contains(" AND r.res_id NOT IN (SELECT i.res_id FROM hh_idx_token i WHERE i.res_type = ?5 AND i.param = ?6"))
        #expect(negated.occurrences(of: "EXISTS") == 0)
        #expect(negated.binds == ["Observation", "Observation", "code", "x", "Observation", "status", "final"])
    }

    @Test func manyAlternativesStayShallowEnoughForSQLite() async throws {
        let names = (1...SearchRequest.maxValues).map { "n\($0)" }
        let r = try await run(try request("Patient", [("name", names.joined(separator: ","))]))
        #expect(r.error == nil)
        #expect(r.occurrences(of: "i.value LIKE ?") == SearchRequest.maxValues)
        var depth = 0
        var deepest = 0
        for ch in r.condition {
            if ch == "(" { depth += 1; deepest = max(deepest, depth) } else if ch == ")" { depth -= 1 }
        }
        #expect(depth == 0)
        #expect(deepest < 20)
    }

    // MARK: Values are bound

    @Test func hostileValuesAreOnlyEverBound() async throws {
        let hostile = "x' OR 1=1--"
        let setup = [
            SQLFixture.resources(["Patient/p1", "Patient/p2"]),
            "INSERT INTO hh_idx_token (res_type, res_id, param, system, code) VALUES ('Patient', 'p1', 'identifier', 'urn:s', 'x'' OR 1=1--'), ('Patient', 'p2', 'identifier', 'urn:s', 'other')",
        ]
        let all = try await run(
            [
                try request("Patient", [("identifier", hostile)]),
                try request("Patient", [("identifier", "urn:s|" + hostile)]),
                try request("Patient", [("name", hostile)]),
                try request("Patient", [("name:exact", hostile)]),
                try request("Patient", [("name:contains", hostile)]),
                try request("Patient", [("_id", hostile)]),
                try request("Questionnaire", [("url", hostile)]),
                try request("Observation", [("subject", "http://x/" + hostile)]),
            ], setup: setup)
        for r in all {
            #expect(r.error == nil)
            #expect(!r.condition.isEmpty)
            #expect(!r.condition.contains("1=1"), "\(r.condition)")
            #expect(!r.condition.contains("x'"), "\(r.condition)")
            #expect(r.binds.contains { $0.contains("1=1") }, "\(r.binds)")
        }
        #expect(all[0].binds.last == hostile)
        #expect(all[2].binds.last == "x' or 1=1--%")
        #expect(all[3].binds.last == hostile)
        #expect(all[4].binds.last == "%x' or 1=1--%")
        #expect(all[7].binds.last == "http://x/" + hostile)
        #expect(all[0].ids == ["p1"])
        #expect(all[1].ids == ["p1"])
        #expect(all[5].ids == [])
    }

    @Test func nulCharactersAreRefusedBeforeSQL() {
        let error = #expect(throws: FHIRError.self) { try request("Patient", [("name", "a\u{0}b")]) }
        #expect(error?.status.code == 400)
        #expect(error?.issues.first?.diagnostics == "Search parameters and values must not contain NUL characters")
    }

    // MARK: Limits

    @Test func moreParametersOrValuesThanTheLimitsAreTooCostly() throws {
        let hundred = Array(repeating: ("identifier", "1"), count: SearchRequest.maxParameters)
        #expect(try request("Patient", hundred).clauses.count == 100)
        let tooMany = #expect(throws: FHIRError.self) { try request("Patient", hundred + [("gender", "male")]) }
        #expect(tooMany?.status.code == 400)
        #expect(tooMany?.issues.first?.code == "too-costly")
        #expect(tooMany?.issues.first?.diagnostics == "A search takes at most 100 parameters")

        let values = (0...SearchRequest.maxValues).map(String.init)
        #expect(try request("Patient", [("identifier", values.dropLast().joined(separator: ","))]).clauses[0].values.count == 500)
        let tooManyValues = #expect(throws: FHIRError.self) { try request("Patient", [("identifier", values.joined(separator: ","))]) }
        #expect(tooManyValues?.issues.first?.code == "too-costly")
        #expect(tooManyValues?.issues.first?.diagnostics == "Search parameter 'identifier' takes at most 500 comma-separated values")

        let fourHundredOne = (0...400).map(String.init).joined(separator: ",")
        let overAll = #expect(throws: FHIRError.self) { try request("Patient", Array(repeating: ("identifier", fourHundredOne), count: 5)) }
        #expect(overAll?.issues.first?.code == "too-costly")
        #expect(overAll?.issues.first?.diagnostics == "A search takes at most 2000 values over all its parameters")
    }

    @Test(arguments: [
        ("_count", "-1", "_count must be a non-negative integer"),
        ("_count", "ten", "_count must be a non-negative integer"),
        ("_count", "1000001", "_count must be at most 1000000; narrow the search instead of paging that deep"),
        ("_offset", "-5", "_offset must be a non-negative integer"),
        ("_offset", "1000001", "_offset must be at most 1000000; narrow the search instead of paging that deep"),
    ])
    func pagingOutOfRangeIsABadRequest(_ name: String, _ value: String, _ diagnostics: String) {
        let error = #expect(throws: FHIRError.self) { try request("Patient", [(name, value)]) }
        #expect(error?.status.code == 400)
        #expect(error?.issues.first?.code == "invalid")
        #expect(error?.issues.first?.diagnostics == diagnostics)
    }

    @Test func pagingWithinRangeIsKeptAndCountIsCapped() throws {
        #expect(try request("Patient", "_count=0").count == 0)
        #expect(try request("Patient", "_count=5000").count == SearchRequest.maxCount)
        #expect(try request("Patient", "_offset=1000000").offset == SearchRequest.maxOffset)
        #expect(try request("Patient", "").count == 20)
    }

    @Test func unusableParametersAreRefusedOrIgnored() throws {
        let empty = #expect(throws: FHIRError.self) { try request("Patient", "name=") }
        #expect(empty?.issues.first?.diagnostics == "Empty value for search parameter 'name'")
        let unchainable = #expect(throws: FHIRError.self) { try request("Patient", "gender.name=x") }
        #expect(unchainable?.issues.first?.diagnostics == "Parameter 'gender' is not a reference and cannot be chained")
        let strict = #expect(throws: FHIRError.self) { try request("Patient", [("nonsense", "1")], strict: true) }
        #expect(strict?.issues.first?.code == "not-supported")
        #expect(strict?.issues.first?.diagnostics == "Unknown search parameter 'nonsense' for Patient")

        let lenient = try request("Observation", "nonsense=1&code-value-quantity=x&code=y")
        #expect(lenient.clauses.map(\.name) == ["code"])
        #expect(
            lenient.warnings.map(\.diagnostics) == [
                "Unknown search parameter 'nonsense' for Observation; it was ignored",
                "Search parameter 'code-value-quantity' is not supported; it was ignored",
            ])
        #expect(lenient.linkParameters.map { $0.0 } == ["code"])
    }

    // MARK: Modifiers

    @Test func stringModifiers() async throws {
        let all = try await run([
            try request("Patient", [("name", "Müller")]),
            try request("Patient", [("name:exact", "Müller")]),
            try request("Patient", [("name:contains", "50%_Off")]),
        ])
        #expect(all[0].condition.hasSuffix("AND ((i.value LIKE ?4 ESCAPE '\\')))"))
        #expect(all[0].binds.last == "muller%")
        #expect(all[1].condition.hasSuffix("AND ((i.exact = ?4)))"))
        #expect(all[1].binds.last == "Müller")
        #expect(all[2].binds.last == #"%50\%\_off%"#)
    }

    @Test func notAndMissingModifiers() async throws {
        let all = try await run([
            try request("Patient", "gender:not=male"),
            try request("Patient", "gender:missing=true"),
            try request("Patient", "gender:missing=false"),
            try request("Patient", "_id:missing=true"),
            try request("Patient", "_id=a,b"),
            try request("Patient", "_id:not=a"),
        ])
        #expect(all[0].condition.hasSuffix(" AND r.res_id NOT IN (SELECT i.res_id FROM hh_idx_token i WHERE i.res_type = ?2 AND i.param = ?3 AND ((i.code = ?4)))"))
        #expect(all[1].condition.hasSuffix(" AND r.res_id NOT IN (SELECT res_id FROM hh_idx_token WHERE res_type = ?2 AND param = ?3)"))
        #expect(all[1].binds == ["Patient", "Patient", "gender"])
        #expect(all[2].condition.hasSuffix(" AND r.res_id IN (SELECT res_id FROM hh_idx_token WHERE res_type = ?2 AND param = ?3)"))
        #expect(all[3].condition == "r.res_type = ?1 AND r.deleted = 0 AND 1 = 0")
        #expect(all[4].condition == "r.res_type = ?1 AND r.deleted = 0 AND r.res_id IN (?2, ?3)")
        #expect(all[5].condition == "r.res_type = ?1 AND r.deleted = 0 AND r.res_id NOT IN (?2)")
    }

    @Test func unsupportedModifiersAreNotSupported() async throws {
        let queries = [
            ("Patient", "gender:text=male"), ("Patient", "name:below=x"), ("Observation", "date:exact=2020"),
            ("Patient", "_id:exact=a"), ("Patient", "_lastUpdated:not=2020"), ("Observation", "subject:Spaceship=1"),
            ("RiskAssessment", "probability:not=1"), ("Questionnaire", "url:above=http://x"),
        ]
        let all = try await run(try queries.map { try request($0.0, $0.1) })
        for (r, query) in zip(all, queries) {
            #expect(r.error?.status.code == 400, "\(query)")
            #expect(r.error?.issues.first?.code == "not-supported", "\(query)")
            #expect(r.error?.issues.first?.diagnostics.hasPrefix("Modifier ':") == true, "\(query)")
            #expect(r.condition.isEmpty)
        }
        let missing = try await run(try request("Patient", "gender:missing=maybe"))
        #expect(missing.error?.issues.first?.diagnostics == "The :missing modifier takes true or false")
    }

    // MARK: References and chains

    @Test func referenceValuesInEveryForm() async throws {
        let all = try await run([
            try request("Observation", "subject:Patient=123"),
            try request("Observation", "subject=Patient/123/_history/2"),
            try request("Observation", "subject=https://other.example/fhir/Patient/123"),
            try request("Observation", "subject:Group=Patient/1"),
            try request("Observation", "subject=urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"),
            try request("Observation", "subject=123"),
            try request("Observation", "subject=not an id"),
        ])
        for r in all[0...2] {
            #expect(r.condition.hasSuffix("AND ((i.target_id = ?4 AND i.target_type = ?5)))"), "\(r.condition)")
            #expect(r.binds.suffix(2) == ["123", "Patient"])
        }
        #expect(all[3].condition.hasSuffix("AND ((1 = 0)))"))
        #expect(all[4].condition.hasSuffix("AND ((i.url = ?4)))"))
        #expect(all[5].condition.hasSuffix("AND ((i.target_id = ?4)))"))
        #expect(all[6].error?.issues.first?.code == "invalid")
    }

    /// o1 is about p1 and performed by p2, o2 is about p2; both patients are named Peter.
    static let chainSetup = [
        SQLFixture.resources(["Observation/o1", "Observation/o2", "Patient/p1", "Patient/p2"]),
        """
        INSERT INTO hh_idx_reference (res_type, res_id, param, target_type, target_id, url) VALUES
        ('Observation', 'o1', 'subject', 'Patient', 'p1', ''), ('Observation', 'o1', 'performer', 'Patient', 'p2', ''),
        ('Observation', 'o2', 'subject', 'Patient', 'p2', '')
        """,
        "INSERT INTO hh_idx_string (res_type, res_id, param, value, exact) VALUES ('Patient', 'p1', 'name', 'peter', 'Peter'), ('Patient', 'p2', 'name', 'peter', 'Peter')",
    ]

    @Test func chainsSearchOnlyTheTargetsTheRequestMaySee() async throws {
        let patient = Principal(subject: "u2", role: .patient, reference: "Patient/p2", patient: "p2", scopes: ScopeSet("patient/*.rs"))
        let limited = RequestAccess(principal: patient, policy: SQLFixture.policy)
        let chained = try request("Observation", "subject:Patient.name=pet")
        let all = try await run(
            [
                (chained, Self.unlimited),
                (chained, limited),
                (try request("Observation", "subject.name=pet"), Self.unlimited),
            ], setup: Self.chainSetup)

        #expect(all[0].condition.contains(" AND r.res_id IN (SELECT c.res_id FROM hh_idx_reference c WHERE c.res_type = ?2 AND c.param = ?3 AND"))
        #expect(
            all[0].condition.contains(
                "(c.target_type = ?4 AND c.target_id IN (SELECT t.res_id FROM hh_resource t WHERE t.res_type = ?5 AND t.deleted = 0 AND t.res_id IN (SELECT i.res_id FROM hh_idx_string i"
            ))
        #expect(all[0].binds == ["Observation", "Observation", "subject", "Patient", "Patient", "Patient", "name", "pet%"])
        #expect(all[0].ids == ["o1", "o2"])

        // o1 is in p2's compartment (as performer), but its subject is not p2: the chain may not see p1
        #expect(all[1].condition.contains(" AND t.res_id IN (?9)"))
        #expect(all[1].binds[8] == "p2")
        #expect(all[1].ids == ["o2"])

        // Observation.subject targets Group, Device, Patient and Location; only Patient and Location have `name`.
        #expect(all[2].occurrences(of: "c.target_type = ?") == 2)
        #expect(all[2].binds.contains("Location"))
        #expect(!all[2].binds.contains("Group") && !all[2].binds.contains("Device"))
        #expect(all[2].ids == ["o1", "o2"])
    }

    @Test func chainsNestAndRefuseUnknownParameters() async throws {
        let all = try await run([
            try request("Observation", "subject:Patient.general-practitioner:Practitioner.name=x"),
            try request("Observation", "subject:Patient.nonsense=x"),
        ])
        #expect(all[0].error == nil)
        #expect(all[0].occurrences(of: "FROM hh_idx_reference c") == 2)
        #expect(all[0].occurrences(of: "FROM hh_idx_string i") == 1)
        #expect(
            all[0].binds == [
                "Observation", "Observation", "subject", "Patient", "Patient", "Patient", "general-practitioner",
                "Practitioner", "Practitioner", "Practitioner", "name", "x%",
            ])
        #expect(all[1].error?.issues.first?.code == "not-supported")
        #expect(all[1].error?.issues.first?.diagnostics == "Chained parameter 'nonsense' is not known on the target types of 'subject'")
    }

    // MARK: Prefixes

    /// `2020` is [1577836800000, 1609459199999] in milliseconds.
    @Test func datePrefixes() async throws {
        let cases: [(String, String, [String])] = [
            ("2020", "i.low >= ?4 AND i.high <= ?5", ["1577836800000", "1609459199999"]),
            ("eq2020", "i.low >= ?4 AND i.high <= ?5", ["1577836800000", "1609459199999"]),
            ("ne2020", "NOT (i.low >= ?4 AND i.high <= ?5)", ["1577836800000", "1609459199999"]),
            ("gt2020", "i.high > ?4", ["1609459199999"]),
            ("lt2020", "i.low < ?4", ["1577836800000"]),
            ("ge2020", "i.high >= ?4", ["1577836800000"]),
            ("le2020", "i.low <= ?4", ["1609459199999"]),
            ("sa2020", "i.low > ?4", ["1609459199999"]),
            ("eb2020", "i.high < ?4", ["1577836800000"]),
        ]
        let all = try await run(try cases.map { try request("Observation", [("date", $0.0)]) })
        for (r, (value, fragment, binds)) in zip(all, cases) {
            #expect(r.condition.hasSuffix("FROM hh_idx_date i WHERE i.res_type = ?2 AND i.param = ?3 AND ((\(fragment))))"), "\(value)")
            #expect(Array(r.binds.dropFirst(3)) == binds, "\(value)")
        }
    }

    @Test func approximateAndInvalidDates() async throws {
        let invalid = ["ge2020-13", "2020-02-30", "yesterday", "gt"]
        let all = try await run(try (["ap2020-06-01", "ge2020,le2021"] + invalid).map { try request("Observation", [("date", $0)]) })
        #expect(all[0].condition.hasSuffix("AND ((i.low <= ?4 AND i.high >= ?5)))"))
        try #require(all[0].binds.count == 5)
        let high = try #require(Int64(all[0].binds[3]))
        let low = try #require(Int64(all[0].binds[4]))
        #expect(low <= 1_590_969_600_000 && high >= 1_591_055_999_999)
        #expect(all[1].condition.hasSuffix("AND (((i.high >= ?4) OR (i.low <= ?5))))"))
        for (r, value) in zip(all.dropFirst(2), invalid) {
            #expect(r.error?.status.code == 400, "\(value)")
            #expect(r.error?.issues.first?.code == "invalid", "\(value)")
        }
    }

    @Test func numberPrefixesAndImplicitPrecision() async throws {
        let invalid = ["+5", "abc", "gt", "1.5.5"]
        let values = ["100", "ne100", "gt0.5", "le2", "1.50", "ap100"] + invalid
        let all = try await run(try values.map { try request("RiskAssessment", [("probability", $0)]) })
        #expect(all[0].condition.hasSuffix("AND ((i.value >= ?4 AND i.value < ?5)))"))
        #expect(all[0].binds.suffix(2) == ["99.5", "100.5"])
        #expect(all[1].condition.hasSuffix("AND ((i.value < ?4 OR i.value >= ?5)))"))
        #expect(all[1].binds.suffix(2) == ["99.5", "100.5"])
        #expect(all[2].condition.hasSuffix("AND ((i.value > ?4)))"))
        #expect(all[2].binds.last == "0.5")
        #expect(all[3].condition.hasSuffix("AND ((i.value <= ?4)))"))
        #expect(all[3].binds.last == "2.0")
        let precise = all[4].binds.suffix(2).compactMap(Double.init)
        #expect(precise.count == 2 && abs(precise[0] - 1.495) < 1e-9 && abs(precise[1] - 1.505) < 1e-9)
        let near = all[5].binds.suffix(2).compactMap(Double.init)
        #expect(near.count == 2 && abs(near[0] - 90) < 1e-9 && abs(near[1] - 110) < 1e-9)
        for (r, value) in zip(all.dropFirst(6), invalid) {
            #expect(r.error?.issues.first?.code == "invalid", "\(value)")
        }
    }

    @Test func quantitiesWithSystemAndCode() async throws {
        let all = try await run([
            try request("Observation", "value-quantity=5.4|http://unitsofmeasure.org|mg"),
            try request("Observation", "value-quantity=5.4||mg"),
            try request("Observation", "value-quantity=lt5"),
            try request("Observation", "value-quantity=5.4|mg"),
        ])
        #expect(all[0].condition.hasSuffix("AND ((((i.value >= ?4 AND i.value < ?5) AND i.system = ?6) AND i.code = ?7)))"))
        #expect(all[0].binds.suffix(2) == ["http://unitsofmeasure.org", "mg"])
        #expect(all[1].condition.hasSuffix("AND (((i.value >= ?4 AND i.value < ?5) AND i.code = ?6)))"))
        #expect(all[2].condition.hasSuffix("FROM hh_idx_quantity i WHERE i.res_type = ?2 AND i.param = ?3 AND ((i.value < ?4)))"))
        #expect(all[3].error?.issues.first?.diagnostics == "Quantity values are [prefix]number[|system|code] (parameter 'value-quantity')")
    }

    @Test func lastUpdatedAndURIs() async throws {
        let all = try await run([
            try request("Patient", "_lastUpdated=lt2021"),
            try request("Questionnaire", "url:below=http://x.org/q_1"),
            try request("Questionnaire", "url=http://x.org/q"),
        ])
        #expect(all[0].condition == "r.res_type = ?1 AND r.deleted = 0 AND r.res_id IN (SELECT r2.res_id FROM hh_resource r2 WHERE r2.res_type = ?2 AND ((r2.last_updated < ?3)))")
        #expect(all[0].binds == ["Patient", "Patient", "1609459200000"])
        #expect(all[1].condition.hasSuffix("FROM hh_idx_uri i WHERE i.res_type = ?2 AND i.param = ?3 AND ((i.value LIKE ?4 ESCAPE '\\')))"))
        #expect(all[1].binds.last == #"http://x.org/q\_1%"#)
        #expect(all[2].condition.hasSuffix("AND ((i.value = ?4)))"))
    }

    @Test func longValuesAreCappedToTheIndexedLength() async throws {
        let r = try await run(try request("Patient", [("identifier", String(repeating: "a", count: 600))]))
        #expect(r.binds.last == String(repeating: "a", count: SearchText.indexedLength))
    }

    // MARK: Sorting

    @Test func sortOrdersPutResourcesWithoutAValueLast() async throws {
        let requests = [
            try request("Observation", "_sort=-date,_id"),
            try request("Patient", "_sort=name"),
            try request("Patient", "_sort=_lastUpdated"),
            try request("Patient", ""),
            try request("Patient", "_sort=nonsense"),
        ]
        let outcomes = try await SQLFixture.with(setup: []) { engine, sql in
            var out: [SortRun] = []
            for request in requests {
                let log = QueryLog()
                do {
                    _ = try await engine.search(request, access: Self.unlimited, on: log.recording(sql))
                    let page = log.queries.first { $0.sql.contains(" ORDER BY ") }
                    let text = page?.sql ?? ""
                    if let start = text.range(of: " ORDER BY "), let end = text.range(of: " LIMIT ", options: .backwards) {
                        out.append(SortRun(order: String(text[start.upperBound..<end.lowerBound]), binds: page?.binds ?? []))
                    } else {
                        out.append(SortRun())
                    }
                } catch let error as FHIRError {
                    out.append(SortRun(error: error))
                }
            }
            return out
        }
        let sub = "(SELECT MAX(s.high) FROM hh_idx_date s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.param = "
        #expect(outcomes[0].order == "CASE WHEN \(sub)?2) IS NULL THEN 1 ELSE 0 END, \(sub)?3) DESC, r.res_id ASC, r.res_id ASC")
        #expect(Array(outcomes[0].binds.prefix(3)) == ["Observation", "date", "date"])
        #expect(outcomes[1].order.hasPrefix("CASE WHEN (SELECT MIN(s.value) FROM hh_idx_string s WHERE"))
        #expect(outcomes[1].order.hasSuffix(") ASC, r.res_id ASC"))
        #expect(outcomes[2].order == "r.last_updated ASC, r.res_id ASC")
        #expect(outcomes[3].order == "r.last_updated DESC, r.res_id ASC")
        #expect(outcomes[4].error?.issues.first?.code == "not-supported")
        #expect(outcomes[4].error?.issues.first?.diagnostics == "Cannot sort by unknown parameter 'nonsense'")
    }
}
