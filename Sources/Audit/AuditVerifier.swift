import Foundation
import Kernel
import SQLKit
import Storage

/// Walks the audit chain from the first record, recomputing every link from the stored (and
/// authenticated, so re-sealed or swapped content is caught) AuditEvent content, then checks the chain against the checkpoint file so that
/// removing the newest records is caught too.
package struct AuditVerifier: Sendable {
    let trail: AuditTrail

    package init(trail: AuditTrail) { self.trail = trail }

    package enum Result: Sendable, Equatable {
        case ok(records: Int64)
        case broken(seq: Int64, reason: String)
    }

    package func verify(checkpoints: AuditCheckpointFile?) async throws -> Result {
        var expectedSeq: Int64 = 1
        var previous = AuditChain.genesis
        var hashes: [Int64: String] = [:]
        // The checkpoints are read once, before the chain: one written while the chain is being
        // walked names a head the walk may not reach, and is checked by the next run.
        let recorded = try checkpoints?.entries() ?? []
        let wanted = Set(recorded.map(\.seq))
        while true {
            let after = expectedSeq - 1
            let rows = try await trail.database.read { db in
                try await db.raw(
                    """
                    SELECT seq, id, prev_hash, hash, key_id, content FROM hh_audit_event
                    WHERE seq > \(bind: after) ORDER BY seq LIMIT 1000
                    """
                ).all()
            }
            if rows.isEmpty { break }
            for row in rows {
                let seq = try row.decode(column: "seq", as: Int64.self)
                let id = try row.decode(column: "id", as: String.self)
                if seq != expectedSeq {
                    return .broken(seq: expectedSeq, reason: "record \(expectedSeq) is missing (the next one is \(seq))")
                }
                if try row.decode(column: "prev_hash", as: String.self) != previous {
                    return .broken(seq: seq, reason: "record \(seq) does not link to record \(seq - 1) (removed, replaced or reordered)")
                }
                let content: Data
                do {
                    content = try trail.unseal(row, id: id)
                } catch {
                    return .broken(seq: seq, reason: "record \(seq): AuditEvent/\(id) content was altered (it no longer authenticates)")
                }
                let hash = AuditChain.link(previous, content)
                if hash != (try row.decode(column: "hash", as: String.self)) {
                    return .broken(seq: seq, reason: "record \(seq): hash does not match its content")
                }
                if wanted.contains(seq) { hashes[seq] = hash }
                previous = hash
                expectedSeq += 1
            }
        }
        let last = expectedSeq - 1
        for checkpoint in recorded {
            if checkpoint.seq > last {
                return .broken(seq: last + 1, reason: "the chain ends at record \(last) but checkpoint says \(checkpoint.seq) records existed (records were removed from the end)")
            }
            if hashes[checkpoint.seq] != checkpoint.hash {
                return .broken(seq: checkpoint.seq, reason: "record \(checkpoint.seq) differs from its checkpoint")
            }
        }
        return .ok(records: last)
    }
}

/// An append-only file of chain heads (`seq hash` lines), kept apart from the database so that a
/// truncated chain cannot pass as complete.
package struct AuditCheckpointFile: Sendable {
    package let path: String

    package init(path: String) { self.path = path }

    package struct Entry: Sendable, Equatable {
        package let seq: Int64
        package let hash: String
    }

    package func entries() throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let seq = Int64(parts[0]) else { return nil }
            return Entry(seq: seq, hash: String(parts[1]))
        }
    }

    /// Appends the head if it moved since the last line.
    package func record(_ head: (seq: Int64, hash: String)) throws {
        guard head.seq > 0, try entries().last?.seq != head.seq else { return }
        let fm = FileManager.default
        let url = URL(fileURLWithPath: path)
        if !fm.fileExists(atPath: path) {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(head.seq) \(head.hash) \(Int64(Now.date.timeIntervalSince1970))\n".utf8))
        try handle.synchronize()
    }
}
