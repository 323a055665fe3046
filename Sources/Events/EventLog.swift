import Foundation
import Kernel
import SQLKit
import Storage

/// One change, as the event log keeps it: what happened (`topic`), to what (`subject`, a
/// reference), for whom (`patient`, a reference, when it is about one), and when. Events carry
/// references only, never content: whoever reads one fetches the resource through the same
/// access rules as anyone else.
package struct Event: Sendable, Equatable {
    /// Position in the log: strictly increasing in commit order, never reused.
    package let seq: Int64
    package let at: Int64
    package let topic: String
    package let subject: String
    package let patient: String?

    package init(seq: Int64, at: Int64, topic: String, subject: String, patient: String?) {
        self.seq = seq
        self.at = at
        self.topic = topic
        self.subject = subject
        self.patient = patient
    }
}

/// The durable, ordered log of changes that live updates, notifications and (later) FHIR
/// Subscriptions read. Appends happen in the transaction of the change they describe, so an
/// event exists exactly when its change was committed. Appenders are serialized (an advisory
/// lock on PostgreSQL, the single writer on SQLite) and take `MAX(seq) + 1`, so sequence order
/// is commit order on every instance: a reader that has seen `seq` N never later finds an event
/// below N, which is what makes "replay what I missed since N" exact.
package struct EventLog: Sendable {
    package let database: any Database

    package init(database: any Database) {
        self.database = database
    }

    package static let migrations: [Migration] = [
        Migration("events.001-log") { d in
            [
                """
                CREATE TABLE hh_event (seq \(d.bigintType) PRIMARY KEY, at_ms \(d.bigintType) NOT NULL, topic TEXT NOT NULL,
                  subject TEXT NOT NULL, patient TEXT)
                """,
                "CREATE INDEX hh_event_patient ON hh_event (patient, seq)",
            ]
        }
    ]

    /// What a change appends (the log gives it its `seq` and time).
    package struct Entry: Sendable {
        package let topic: String
        package let subject: String
        package let patient: String?

        package init(topic: String, subject: String, patient: String? = nil) {
            self.topic = topic
            self.subject = subject
            self.patient = patient
        }
    }

    /// Appends in the caller's transaction; returns the events as they will be once committed.
    @discardableResult
    package func append(_ entries: [Entry], in tx: DatabaseTransaction) async throws -> [Event] {
        guard !entries.isEmpty else { return [] }
        try await tx.lock("event-log")
        let last = try await tx.sql.raw("SELECT COALESCE(MAX(seq), 0) AS last FROM hh_event").first()?.decode(column: "last", as: Int64.self) ?? 0
        let now = Instant.millis(Now.date)
        var events: [Event] = []
        for (offset, entry) in entries.enumerated() {
            let event = Event(seq: last + 1 + Int64(offset), at: now, topic: entry.topic, subject: entry.subject, patient: entry.patient)
            try await tx.sql.raw(
                "INSERT INTO hh_event (seq, at_ms, topic, subject, patient) VALUES (\(bind: event.seq), \(bind: event.at), \(bind: event.topic), \(bind: event.subject), \(bind: event.patient))"
            ).run()
            events.append(event)
        }
        return events
    }

    /// Events after `seq`, oldest first, at most `limit`; only those about `patients` when given.
    package func events(after seq: Int64, patients: [String]? = nil, limit: Int = 500) async throws -> [Event] {
        try await database.read { db in
            var query: SQLQueryString = "SELECT seq, at_ms, topic, subject, patient FROM hh_event WHERE seq > \(bind: seq)"
            if let patients {
                guard !patients.isEmpty else { return [] }
                query = query + " AND patient IN (" + patients.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ") + ")"
            }
            query = query + " ORDER BY seq LIMIT \(bind: limit)"
            return try await db.raw(query).all().map { row in
                Event(
                    seq: try row.decode(column: "seq", as: Int64.self), at: try row.decode(column: "at_ms", as: Int64.self),
                    topic: try row.decode(column: "topic", as: String.self), subject: try row.decode(column: "subject", as: String.self),
                    patient: try row.decode(column: "patient", as: String?.self))
            }
        }
    }

    /// The newest `seq` (0 for an empty log): where a new reader starts.
    package func head() async throws -> Int64 {
        try await database.read { db in
            try await db.raw("SELECT COALESCE(MAX(seq), 0) AS last FROM hh_event").first()?.decode(column: "last", as: Int64.self) ?? 0
        }
    }
}
