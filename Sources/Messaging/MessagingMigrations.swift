// swift-format-ignore-file
// (Migration statements: their hand alignment carries meaning.)

import Storage

/// The messaging tables: which messages make up which thread, each thread's state (open or
/// done, who it is assigned to) and how far each reader has read. Ids, references and instants
/// only: the subject and text of every message stay in its sealed Communication.
package enum MessagingMigrations {
    package static let all: [Migration] = [
        Migration("messaging.001-threads") { d in [
            """
            CREATE TABLE hh_thread (
              thread_id TEXT NOT NULL PRIMARY KEY, patient_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
              assigned_to TEXT, created_ms \(d.bigintType) NOT NULL, last_ms \(d.bigintType) NOT NULL, last_from TEXT NOT NULL)
            """,
            "CREATE INDEX hh_thread_patient ON hh_thread (patient_id, last_ms)",
            "CREATE TABLE hh_thread_message (message_id TEXT NOT NULL PRIMARY KEY, thread_id TEXT NOT NULL, sender TEXT NOT NULL, sent_ms \(d.bigintType) NOT NULL)",
            "CREATE INDEX hh_thread_message_thread ON hh_thread_message (thread_id, sent_ms)",
            "CREATE TABLE hh_thread_read (thread_id TEXT NOT NULL, reader TEXT NOT NULL, read_ms \(d.bigintType) NOT NULL, PRIMARY KEY (thread_id, reader))",
        ] },
    ]
}
