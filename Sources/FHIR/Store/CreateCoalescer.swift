import Foundation
import Storage

/// Group commit for plain creates. Each create is prepared (indexed, sealed) by its own request;
/// the ones waiting while a transaction runs are written together by the next one, in the same
/// few multi-row statements as a bundle. With a single SQLite writer this turns per-statement
/// round trips into per-batch ones; on PostgreSQL it saves round trips too. Creates with
/// server-assigned UUIDs cannot conflict with each other, so sharing a transaction is safe; if
/// it fails, every create in it fails and nothing of them is stored.
actor CreateCoalescer {
    private let store: ResourceStore
    private var pending: [(ResourceStore.PreparedWrite, CheckedContinuation<ResourceVersion, any Error>)] = []
    private var draining = false
    /// Upper bound of one batch, to keep each transaction short.
    private let maxBatch = 256

    init(store: ResourceStore) { self.store = store }

    func submit(_ write: ResourceStore.PreparedWrite) async throws -> ResourceVersion {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((write, continuation))
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
            do {
                try await store.database.transaction { tx in try await store.insertCreated(writes, in: tx) }
                for (write, continuation) in batch { continuation.resume(returning: write.version) }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}
