import Crypto
import FHIR
import Foundation
import Kernel
import SQLKit
import Storage

/// The tamper-evident audit trail. Each record becomes an AuditEvent resource (sealed and
/// searchable like any resource) and a row of `hh_audit_chain`:
/// `hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ stored AuditEvent bytes)`, starting from `AuditChain.genesis`.
/// Appends take the `audit-chain` lock, so the chain has one order even across instances.
package final class AuditTrail: AuditSink {
    let store: ResourceStore
    let renderer: AuditEventRenderer
    private let batcher: AuditBatcher

    package init(store: ResourceStore, renderer: AuditEventRenderer = AuditEventRenderer()) {
        self.store = store
        self.renderer = renderer
        self.batcher = AuditBatcher()
    }

    package static let migrations = [
        Migration("audit.001-chain") { d in [
            """
            CREATE TABLE hh_audit_chain (
              seq \(d.bigintType) PRIMARY KEY, res_id TEXT NOT NULL, recorded \(d.bigintType) NOT NULL,
              prev_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
        ] },
    ]

    /// Renders, indexes and seals records: CPU work done by the caller, outside the chain lock.
    func prepare(_ records: [AuditRecord]) throws -> [ResourceStore.PreparedWrite] {
        try records.map { try store.prepareCreate(renderer.render($0), type: "AuditEvent", id: ResourceID.generate()) }
    }

    /// Appends in the caller's transaction (the audit of a change commits with the change).
    package func append(_ records: [AuditRecord], in tx: DatabaseTransaction) async throws {
        try await append(prepared: prepare(records), in: tx)
    }

    /// Links prepared AuditEvents to the chain head and inserts them; only this part holds the lock.
    func append(prepared: [ResourceStore.PreparedWrite], in tx: DatabaseTransaction) async throws {
        guard !prepared.isEmpty else { return }
        try await tx.lock("audit-chain")
        let head = try await AuditChain.head(on: tx.sql)
        var seq = head.seq
        var previous = head.hash
        var links: [(seq: Int64, id: String, recorded: Int64, prev: String, hash: String)] = []
        for write in prepared {
            seq += 1
            let hash = AuditChain.link(previous, write.version.content ?? Data())
            links.append((seq, write.version.id, write.version.lastUpdated, previous, hash))
            previous = hash
        }
        try await store.insertCreated(prepared, in: tx)
        var q = SQLQueryString("INSERT INTO hh_audit_chain (seq, res_id, recorded, prev_hash, hash) VALUES ")
        for (i, l) in links.enumerated() {
            if i > 0 { q += ", " }
            q += "(\(bind: l.seq), \(bind: l.id), \(bind: l.recorded), \(bind: l.prev), \(bind: l.hash))"
        }
        try await tx.sql.raw(q).run()
    }

    /// Appends in a shared transaction with the other records that arrive meanwhile (reads and
    /// failed requests); returns once they are committed, so a read is never answered unaudited.
    /// The records are prepared here, in the caller's task, so requests prepare in parallel.
    package func appendSoon(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        let prepared = try prepare(records)
        try await batcher.submit(prepared) { batch in
            try await self.store.database.transaction { tx in try await self.append(prepared: batch, in: tx) }
        }
    }
}

/// Group commit for audit records that have no transaction of their own.
actor AuditBatcher {
    private var pending: [([ResourceStore.PreparedWrite], CheckedContinuation<Void, any Error>)] = []
    private var draining = false

    func submit(_ records: [ResourceStore.PreparedWrite], write: @escaping @Sendable ([ResourceStore.PreparedWrite]) async throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append((records, continuation))
            if !draining {
                draining = true
                Task { await drain(write) }
            }
        }
    }

    private func drain(_ write: @Sendable ([ResourceStore.PreparedWrite]) async throws -> Void) async {
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
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    package static func head(on db: any SQLDatabase) async throws -> (seq: Int64, hash: String) {
        guard let row = try await db.raw("SELECT seq, hash FROM hh_audit_chain ORDER BY seq DESC LIMIT 1").first() else {
            return (0, genesis)
        }
        return (try row.decode(column: "seq", as: Int64.self), try row.decode(column: "hash", as: String.self))
    }
}
