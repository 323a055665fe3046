import FHIR
import Foundation
import Kernel
import SQLKit
import Storage

/// The state of message threads beside their Communications: open or done, who a thread is
/// assigned to, and how far each reader has read (read receipts and unread counts). Callers
/// first read the threads' Communications under the visitor's access (which decides who may
/// see which thread); this only adds the state of those threads.
package struct MessageCenter: Sendable {
    let database: any Database

    package init(database: any Database) { self.database = database }

    package struct Thread: Sendable {
        package let id: String
        package let patient: String
        package let kind: MessagingVocabulary.Kind
        package let status: String
        package let assignedTo: String?
        package let lastAt: Int64
        package let lastFrom: String
        /// Messages `reader` has not read (not counting their own).
        package let unread: Int
    }

    /// The state of `threads` (ids the visitor may see) for `reader`, newest first.
    package func threads(_ threads: [String], reader: String) async throws -> [Thread] {
        guard !threads.isEmpty else { return [] }
        var ids: SQLQueryString = ""
        for (i, t) in threads.enumerated() { ids = ids + (i == 0 ? "" : ", ") + "\(bind: t)" }
        let list = ids
        return try await database.read { db in
            let rows = try await db.raw(
                "SELECT t.thread_id, t.patient_id, t.kind, t.status, t.assigned_to, t.last_ms, t.last_from, "
                    + "(SELECT COUNT(*) FROM hh_thread_message m WHERE m.thread_id = t.thread_id AND m.sender <> \(bind: reader) AND m.sent_ms > "
                    + "COALESCE((SELECT r.read_ms FROM hh_thread_read r WHERE r.thread_id = t.thread_id AND r.reader = \(bind: reader)), -1)) AS unread "
                    + "FROM hh_thread t WHERE t.thread_id IN (" + list + ") ORDER BY t.last_ms DESC"
            ).all()
            return try rows.map { row in
                Thread(
                    id: try row.decode(column: "thread_id", as: String.self), patient: try row.decode(column: "patient_id", as: String.self),
                    kind: MessagingVocabulary.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .general,
                    status: try row.decode(column: "status", as: String.self), assignedTo: try row.decode(column: "assigned_to", as: String?.self),
                    lastAt: try row.decode(column: "last_ms", as: Int64.self), lastFrom: try row.decode(column: "last_from", as: String.self),
                    unread: try row.decode(column: "unread", as: Int.self))
            }
        }
    }

    /// When each reader of `thread` last read it (for read receipts).
    package func readers(of thread: String) async throws -> [String: Int64] {
        try await database.read { db in
            let rows = try await db.raw("SELECT reader, read_ms FROM hh_thread_read WHERE thread_id = \(bind: thread)").all()
            return Dictionary(try rows.map { (try $0.decode(column: "reader", as: String.self), try $0.decode(column: "read_ms", as: Int64.self)) }, uniquingKeysWith: max)
        }
    }

    /// `reader` has read `thread` up to now.
    package func markRead(thread: String, reader: String) async throws {
        let now = Instant.millis(Now.date)
        try await database.transaction { tx in
            // (the thread's lock, as its writes take it: two tabs opening the thread at once
            // would otherwise both insert the reader's row)
            try await tx.lock("thread:\(thread)")
            try await Self.markRead(thread: thread, reader: reader, at: now, on: tx.sql)
        }
    }

    static func markRead(thread: String, reader: String, at millis: Int64, on sql: any SQLDatabase) async throws {
        let current = try await sql.raw("SELECT read_ms FROM hh_thread_read WHERE thread_id = \(bind: thread) AND reader = \(bind: reader)").first()
            .map { try $0.decode(column: "read_ms", as: Int64.self) }
        guard (current ?? -1) < millis else { return }
        try await sql.raw("DELETE FROM hh_thread_read WHERE thread_id = \(bind: thread) AND reader = \(bind: reader)").run()
        try await sql.raw("INSERT INTO hh_thread_read (thread_id, reader, read_ms) VALUES (\(bind: thread), \(bind: reader), \(bind: millis))").run()
    }

    /// Assigns a thread to a practitioner (nil: back to the team).
    package func assign(thread: String, to practitioner: String?) async throws {
        try await database.transaction { tx in
            try await tx.sql.raw("UPDATE hh_thread SET assigned_to = \(bind: practitioner) WHERE thread_id = \(bind: thread)").run()
        }
    }

    /// Marks a thread done, or open again.
    package func setStatus(thread: String, done: Bool) async throws {
        try await database.transaction { tx in
            try await tx.sql.raw("UPDATE hh_thread SET status = \(bind: done ? "done" : "open") WHERE thread_id = \(bind: thread)").run()
        }
    }
}
