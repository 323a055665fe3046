import Events
import FHIR
import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Storage

/// Keeps the thread tables in step with every write of a HealthHub message (a Communication
/// with HealthHub's message type), however it is written, in the write's transaction: a first
/// message opens a thread, a reply (`partOf` its first message) must belong to a thread of the
/// same patient and moves it to the top (reopening it when the patient writes), and each new
/// message is an event (`message.new`) and, when staff write, an email notification job.
package struct ThreadRule: ResourceWriteRule {
    package var types: Set<String> { ["Communication"] }
    let log: EventLog
    let jobs: JobQueue

    package init(log: EventLog, jobs: JobQueue) {
        self.log = log
        self.jobs = jobs
    }

    package func apply(_ change: ResourceChange, store: ResourceStore, in tx: DatabaseTransaction) async throws {
        let sql = tx.sql
        guard let message = change.resource else {
            // a deleted first message closes its thread; a deleted reply leaves it
            try await sql.raw("DELETE FROM hh_thread_message WHERE message_id = \(bind: change.id)").run()
            try await sql.raw("DELETE FROM hh_thread_read WHERE thread_id = \(bind: change.id)").run()
            try await sql.raw("DELETE FROM hh_thread WHERE thread_id = \(bind: change.id)").run()
            return
        }
        guard let kind = MessagingVocabulary.kind(of: message) else { return }
        guard let patient = MessagingVocabulary.patient(of: message), let sender = MessagingVocabulary.sender(of: message),
            sender == "Patient/\(patient)" || sender.hasPrefix("Practitioner/") || sender.hasPrefix("RelatedPerson/")
        else {
            throw FHIRError(
                .unprocessableContent, code: "business-rule",
                "A message needs a Patient subject and a sender that is that patient, a proxy of theirs or a practitioner", expression: ["Communication.sender"])
        }
        // A person writes as themselves: a patient, a proxy or a clinician cannot sign a message
        // as someone else (a proxy's RelatedPerson is theirs only while they act for this
        // patient, which the access policy has checked). Backend services and imports may.
        if let writer = change.writer, MessagingVocabulary.isPerson(writer), writer != sender {
            throw FHIRError(
                .unprocessableContent, code: "business-rule", "A message's sender must be whoever writes it (\(writer.prefix(80)))",
                expression: ["Communication.sender"])
        }
        let thread = MessagingVocabulary.thread(of: message, id: change.id)
        // the order and the unread counts follow the server's time of the write, not the `sent`
        // a client wrote (which could pin a thread to the top or hide it from the unread count)
        let sent = message["meta"]?["lastUpdated"]?.stringValue.flatMap(DateRange.init)?.low ?? Instant.millis(Now.date)
        try await tx.lock("thread:\(thread)")
        let exists = try await sql.raw("SELECT 1 AS one FROM hh_thread WHERE thread_id = \(bind: thread)").first() != nil
        if thread == change.id, exists {
            // a later version of the first message: the thread keeps its state, assignment and order
            try await sql.raw("UPDATE hh_thread SET patient_id = \(bind: patient), kind = \(bind: kind.rawValue) WHERE thread_id = \(bind: thread)").run()
        } else if thread == change.id {
            try await sql.raw(
                """
                INSERT INTO hh_thread (thread_id, patient_id, kind, status, assigned_to, created_ms, last_ms, last_from)
                VALUES (\(bind: thread), \(bind: patient), \(bind: kind.rawValue), 'open', NULL, \(bind: sent), \(bind: sent), \(bind: sender))
                """
            ).run()
        } else {
            let row = try await sql.raw("SELECT patient_id FROM hh_thread WHERE thread_id = \(bind: thread)").first()
            guard try row?.decode(column: "patient_id", as: String.self) == patient else {
                throw FHIRError(
                    .unprocessableContent, code: "business-rule", "A reply's partOf must be the first message of a thread about the same patient",
                    expression: ["Communication.partOf"])
            }
            let reopen = MessagingVocabulary.isPatientSide(sender) ? ", status = 'open'" : ""
            try await sql.raw("UPDATE hh_thread SET last_ms = \(bind: sent), last_from = \(bind: sender)\(unsafeRaw: reopen) WHERE thread_id = \(bind: thread)").run()
        }
        let isNew = try await sql.raw("SELECT 1 AS one FROM hh_thread_message WHERE message_id = \(bind: change.id)").first() == nil
        if isNew {
            try await sql.raw(
                "INSERT INTO hh_thread_message (message_id, thread_id, sender, sent_ms) VALUES (\(bind: change.id), \(bind: thread), \(bind: sender), \(bind: sent))"
            ).run()
        } else {
            try await sql.raw("UPDATE hh_thread_message SET sender = \(bind: sender) WHERE message_id = \(bind: change.id)").run()
        }
        // the sender has read what they wrote
        try await MessageCenter.markRead(thread: thread, reader: sender, at: sent, on: sql)
        guard isNew else { return }
        _ = try await log.append([.init(topic: "message.new", subject: "Communication/\(thread)", patient: "Patient/\(patient)")], in: tx)
        if sender.hasPrefix("Practitioner/") {
            _ = try await jobs.enqueue(kind: MessageNotification.kind, payload: "\(patient) \(change.id)", runAt: Instant.millis(Now.date), in: tx)
        }
    }
}
