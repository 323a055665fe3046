import Foundation
import Kernel
import Storage

/// Group commit for plain creates. Each create is prepared (indexed, sealed) by its own request;
/// the ones waiting while a transaction runs are written together by the next one, in the same
/// few multi-row statements as a bundle. With a single SQLite writer this turns per-statement
/// round trips into per-batch ones; on PostgreSQL it saves round trips too. Creates with
/// server-assigned UUIDs cannot conflict with each other, so sharing a transaction is safe; if
/// it fails, every create in it fails and nothing of them is stored.
actor CreateCoalescer {
    private let store: ResourceStore
    private let audit: any AuditSink<DatabaseTransaction>
    private var pending: [(ResourceStore.PreparedWrite, AuditRecord, CheckedContinuation<ResourceVersion, any Error>)] = []
    private var draining = false
    /// Upper bound of one batch, to keep each transaction short.
    private let maxBatch = 256

    init(store: ResourceStore, audit: any AuditSink<DatabaseTransaction>) {
        self.store = store
        self.audit = audit
    }

    /// Writes the resource and its audit record in the same transaction.
    func submit(_ write: ResourceStore.PreparedWrite, audit record: AuditRecord) async throws -> ResourceVersion {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((write, record, continuation))
            if !draining {
                draining = true
                Task { await drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            let writes = batch.map(\.0)
            let records = batch.map(\.1)
            do {
                try await store.database.transaction { [audit] tx in
                    try await store.insertCreated(writes, in: tx)
                    try await audit.append(records, in: tx)
                }
                for (write, _, continuation) in batch { continuation.resume(returning: write.version) }
            } catch {
                for (_, _, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}
