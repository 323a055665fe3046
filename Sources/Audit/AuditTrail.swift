import Crypto
import Foundation
import Kernel
import SQLKit
import Sealing
import Storage

/// The tamper-evident audit trail. Each record is rendered (by the FHIR module, as an R4
/// AuditEvent), sealed and stored in `hh_audit_event`, with the few columns AuditEvent search needs (recorded, agent, subtype,
/// action, outcome) and one `hh_audit_entity` row per patient or resource it names, and is
/// chained: `hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ AuditEvent bytes)`, from `AuditChain.genesis`.
/// Appends take the `audit-chain` lock, so the chain has one order even across instances.
///
/// AuditEvents are not stored as indexed resources: indexing every event for all 40-odd
/// AuditEvent search parameters cost most of the read throughput (every read writes one).
package final class AuditTrail: AuditSink, AuditEventReading {
    let database: any Database
    let keyring: Keyring
    let renderer: any AuditEventRendering
    private let batcher: AuditBatcher

    package init(database: any Database, keyring: Keyring, renderer: any AuditEventRendering) {
        self.database = database
        self.keyring = keyring
        self.renderer = renderer
        self.batcher = AuditBatcher()
    }

    /// Events are sealed like version 1 of a resource of this type (the AAD names it).
    static let sealedType = "AuditEvent"

    /// The index tables of the FHIR store as they were when `audit.002` moved the events out of
    /// them (a migration's statements never change with later code).
    static let formerIndexTables = ["hh_idx_string", "hh_idx_token", "hh_idx_date", "hh_idx_reference", "hh_idx_number", "hh_idx_quantity", "hh_idx_uri"]

    // swift-format-ignore
    package static let migrations = [
        Migration("audit.001-chain") { d in [
            """
            CREATE TABLE hh_audit_chain (
              seq \(d.bigintType) PRIMARY KEY, res_id TEXT NOT NULL, recorded \(d.bigintType) NOT NULL,
              prev_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
        ] },
        // The compact layout; events of the first layout move over with their chain links and
        // sealed bytes unchanged (same AAD), their search columns taken from the index tables.
        Migration("audit.002-compact-events") { d in [
            """
            CREATE TABLE hh_audit_event (
              seq \(d.bigintType) PRIMARY KEY, id TEXT NOT NULL UNIQUE, recorded \(d.bigintType) NOT NULL,
              agent TEXT NOT NULL, subtype TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL,
              key_id TEXT NOT NULL, content \(d.blobType) NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
            "CREATE INDEX hh_audit_event_recorded ON hh_audit_event (recorded)",
            "CREATE INDEX hh_audit_event_agent ON hh_audit_event (agent, recorded)",
            "CREATE INDEX hh_audit_event_subtype ON hh_audit_event (subtype, recorded)",
            "CREATE TABLE hh_audit_entity (seq \(d.bigintType) NOT NULL, reference TEXT NOT NULL)",
            "CREATE INDEX hh_audit_entity_reference ON hh_audit_entity (reference, seq)",
            """
            INSERT INTO hh_audit_event (seq, id, recorded, agent, subtype, action, outcome, key_id, content, prev_hash, hash)
            SELECT c.seq, c.res_id, c.recorded,
              COALESCE((SELECT MIN(a.target_type || '/' || a.target_id) FROM hh_idx_reference a WHERE a.res_type = 'AuditEvent' AND a.res_id = c.res_id AND a.param = 'agent'), ''),
              COALESCE((SELECT MIN(t.code) FROM hh_idx_token t WHERE t.res_type = 'AuditEvent' AND t.res_id = c.res_id AND t.param = 'subtype'), ''),
              COALESCE((SELECT MIN(t.code) FROM hh_idx_token t WHERE t.res_type = 'AuditEvent' AND t.res_id = c.res_id AND t.param = 'action'), ''),
              COALESCE((SELECT MIN(t.code) FROM hh_idx_token t WHERE t.res_type = 'AuditEvent' AND t.res_id = c.res_id AND t.param = 'outcome'), ''),
              r.key_id, r.content, c.prev_hash, c.hash
            FROM hh_audit_chain c JOIN hh_resource r ON r.res_type = 'AuditEvent' AND r.res_id = c.res_id
            """,
            """
            INSERT INTO hh_audit_entity (seq, reference)
            SELECT DISTINCT c.seq, i.target_type || '/' || i.target_id FROM hh_audit_chain c
            JOIN hh_idx_reference i ON i.res_type = 'AuditEvent' AND i.res_id = c.res_id AND i.param = 'entity' AND i.target_type <> ''
            """,
        ] + (formerIndexTables + ["hh_resource", "hh_resource_history"]).map { "DELETE FROM \($0) WHERE res_type = 'AuditEvent'" }
          + ["DROP TABLE hh_audit_chain"] },
    ]

    /// An AuditEvent ready to be chained: rendered, stamped and sealed (CPU work done outside the lock).
    struct Prepared: Sendable {
        let id: String
        let content: Data
        let sealed: SealedBytes
        let recorded: Int64
        let agent: String
        let subtype: String
        let action: String
        let outcome: String
        let entities: [String]
    }

    func prepare(_ records: [AuditRecord]) throws -> [Prepared] {
        try records.map { r in
            let recorded = Instant.millis(r.recorded)
            let id = ResourceID.generate()
            let content = renderer.render(r, id: id, recorded: recorded)
            let sealed = try keyring.seal(record: content, type: Self.sealedType, id: id, version: 1)
            var entities = r.patients
            for resource in r.resources where !entities.contains(resource) { entities.append(resource) }
            return Prepared(
                id: id, content: content, sealed: sealed, recorded: recorded, agent: r.agent, subtype: r.interaction, action: r.action.rawValue,
                outcome: r.outcome.rawValue, entities: entities)
        }
    }

    /// Appends in the caller's transaction (the audit of a change commits with the change).
    package func append(_ records: [AuditRecord], in tx: DatabaseTransaction) async throws {
        try await append(prepared: prepare(records), in: tx)
    }

    /// Links prepared AuditEvents to the chain head and inserts them; only this part holds the lock.
    func append(prepared: [Prepared], in tx: DatabaseTransaction) async throws {
        guard !prepared.isEmpty else { return }
        try await tx.lock("audit-chain")
        let head = try await AuditChain.head(on: tx.sql)
        var seq = head.seq
        var previous = head.hash
        var events = SQLQueryString("INSERT INTO hh_audit_event (seq, id, recorded, agent, subtype, action, outcome, key_id, content, prev_hash, hash) VALUES ")
        var entities: [(Int64, String)] = []
        for (i, p) in prepared.enumerated() {
            seq += 1
            let hash = AuditChain.link(previous, p.content)
            if i > 0 { events += ", " }
            events += "(\(bind: seq), \(bind: p.id), \(bind: p.recorded), \(bind: p.agent), \(bind: p.subtype), \(bind: p.action), \(bind: p.outcome), "
            events += "\(bind: p.sealed.keyID), \(bind: p.sealed.sealed), \(bind: previous), \(bind: hash))"
            entities += p.entities.map { (seq, $0) }
            previous = hash
        }
        try await tx.sql.raw(events).run()
        for chunk in stride(from: 0, to: entities.count, by: 2000) {
            var q = SQLQueryString("INSERT INTO hh_audit_entity (seq, reference) VALUES ")
            for (i, e) in entities[chunk..<min(chunk + 2000, entities.count)].enumerated() {
                q += i == 0 ? "(\(bind: e.0), \(bind: e.1))" : ", (\(bind: e.0), \(bind: e.1))"
            }
            try await tx.sql.raw(q).run()
        }
    }

    /// Appends in a shared transaction with the other records that arrive meanwhile (reads and
    /// failed requests); returns once they are committed, so a read is never answered unaudited.
    /// The records are prepared here, in the caller's task, so requests prepare in parallel.
    package func appendSoon(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        let prepared = try prepare(records)
        try await batcher.submit(prepared) { batch in
            try await self.database.transaction { tx in try await self.append(prepared: batch, in: tx) }
        }
    }

    // MARK: Reading

    package func event(id: String) async throws -> StoredAuditEvent? {
        try await database.read { db in
            try await db.raw("SELECT id, recorded, key_id, content FROM hh_audit_event WHERE id = \(bind: id)").first().map(self.event)
        }
    }

    func event(_ row: any SQLRow) throws -> StoredAuditEvent {
        let id = try row.decode(column: "id", as: String.self)
        return StoredAuditEvent(id: id, recorded: try row.decode(column: "recorded", as: Int64.self), content: try unseal(row, id: id))
    }

    /// The content of a row selected with `key_id` and `content`, authenticated and decrypted.
    func unseal(_ row: any SQLRow, id: String) throws -> Data {
        try keyring.open(
            record: try row.decode(column: "content", as: Data.self), keyID: try row.decode(column: "key_id", as: String.self),
            type: Self.sealedType, id: id, version: 1)
    }

    package func events(_ query: AuditQuery) async throws -> AuditPage {
        let condition = AuditSQL.condition(query)
        let order: SQLQueryString = query.newestFirst ? "e.seq DESC" : "e.seq ASC"
        return try await database.read { db in
            var events: [StoredAuditEvent] = []
            var hasMore = false
            if query.count > 0 {
                let rows = try await db.raw(
                    "SELECT e.id, e.recorded, e.key_id, e.content FROM hh_audit_event e WHERE " + condition
                        + " ORDER BY " + order + " LIMIT \(bind: query.count + 1) OFFSET \(bind: query.offset)"
                ).all()
                hasMore = rows.count > query.count
                events = try rows.prefix(query.count).map(self.event)
            }
            var total: Int?
            if query.countTotal {
                total = try await db.raw("SELECT COUNT(*) AS n FROM hh_audit_event e WHERE " + condition).first()?.decode(column: "n", as: Int.self)
            }
            return AuditPage(events: events, total: total, hasMore: hasMore)
        }
    }
}

/// An `AuditQuery` as SQL over `hh_audit_event e` (and its entity rows); values are bound.
enum AuditSQL {
    static func condition(_ query: AuditQuery) -> SQLQueryString {
        var sql: SQLQueryString = "1 = 1"
        for clause in query.clauses {
            var group: SQLQueryString = ""
            for (i, term) in clause.enumerated() { group += i == 0 ? "(" + condition(term) + ")" : " OR (" + condition(term) + ")" }
            sql += " AND (" + (clause.isEmpty ? "1 = 0" : group) + ")"
        }
        return sql
    }

    static func condition(_ term: AuditQuery.Term) -> SQLQueryString {
        switch term {
        case .id(let id): "e.id = \(bind: id)"
        case .agent(let agent): "e.agent = \(bind: agent)"
        case .entity(let reference): "e.seq IN (SELECT n.seq FROM hh_audit_entity n WHERE n.reference = \(bind: reference))"
        case .subtype(let code): "e.subtype = \(bind: code)"
        case .action(let code): "e.action = \(bind: code)"
        case .outcome(let code): "e.outcome = \(bind: code)"
        case .recorded(let comparison, let low, let high):
            switch comparison {
            case .within: "e.recorded >= \(bind: low) AND e.recorded <= \(bind: high)"
            case .outside: "(e.recorded < \(bind: low) OR e.recorded > \(bind: high))"
            case .after: "e.recorded > \(bind: high)"
            case .before: "e.recorded < \(bind: low)"
            case .atOrAfter: "e.recorded >= \(bind: low)"
            case .atOrBefore: "e.recorded <= \(bind: high)"
            }
        }
    }
}

/// Group commit for audit records that have no transaction of their own.
actor AuditBatcher {
    private var pending: [([AuditTrail.Prepared], CheckedContinuation<Void, any Error>)] = []
    private var draining = false

    func submit(_ records: [AuditTrail.Prepared], write: @escaping @Sendable ([AuditTrail.Prepared]) async throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append((records, continuation))
            if !draining {
                draining = true
                Task { await drain(write) }
            }
        }
    }

    private func drain(_ write: @Sendable ([AuditTrail.Prepared]) async throws -> Void) async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(512))
            pending.removeFirst(batch.count)
            do {
                try await write(batch.flatMap(\.0))
                for (_, c) in batch { c.resume() }
            } catch {
                for (_, c) in batch { c.resume(throwing: error) }
            }
        }
        draining = false
    }
}

/// The hash chain's arithmetic and head.
package enum AuditChain {
    package static let genesis = String(repeating: "0", count: 64)

    package static func link(_ previous: String, _ content: Data) -> String {
        var hasher = SHA256()
        hasher.update(data: Data(previous.utf8))
        hasher.update(data: Data([0x0A]))
        hasher.update(data: content)
        return Hex.encode(hasher.finalize())
    }

    package static func head(on db: any SQLDatabase) async throws -> (seq: Int64, hash: String) {
        guard let row = try await db.raw("SELECT seq, hash FROM hh_audit_event ORDER BY seq DESC LIMIT 1").first() else {
            return (0, genesis)
        }
        return (try row.decode(column: "seq", as: Int64.self), try row.decode(column: "hash", as: String.self))
    }
}
