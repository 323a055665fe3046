import Events
import FHIR
import Kernel
import SQLKit
import Storage

/// Every change of an Appointment's status, or of its time while it is active, becomes an event
/// in the log (in the write's transaction, like the change): `appointment.booked`,
/// `appointment.pending`, `appointment.cancelled`, `appointment.noshow`, ... and
/// `appointment.moved`, about the patient taking part. Notifications and live updates read them.
///
/// It also keeps each booked appointment's reminders queued (durable jobs at each configured
/// offset before the start, `AppointmentReminder`): queued when it is booked, queued anew when
/// it moves, cancelled when it is cancelled, marked a no-show or deleted.
package struct AppointmentEvents: ResourceWriteRule {
    let log: EventLog
    let jobs: JobQueue?
    let reminderMinutes: [Int]

    package init(log: EventLog, jobs: JobQueue? = nil, reminderMinutes: [Int] = []) {
        self.log = log
        self.jobs = jobs
        self.reminderMinutes = reminderMinutes
    }

    package var types: Set<String> { ["Appointment"] }

    package func apply(_ change: ResourceChange, store: ResourceStore, in tx: DatabaseTransaction) async throws {
        let previous = try await tx.sql.raw("SELECT status, start_ms, held FROM hh_appointment_state WHERE appointment_id = \(bind: change.id)").first()
        let before = try previous.map {
            (
                status: try $0.decode(column: "status", as: String.self), start: try $0.decode(column: "start_ms", as: Int64?.self),
                held: try $0.decode(column: "held", as: Int.self) != 0
            )
        }
        try await tx.sql.raw("DELETE FROM hh_appointment_state WHERE appointment_id = \(bind: change.id)").run()
        let status = change.resource == nil ? "deleted" : change.resource?["status"]?.stringValue ?? "unknown"
        let start = change.resource?["start"]?.stringValue.flatMap(DateRange.init)?.low
        let held = change.resource.flatMap(SchedulingVocabulary.holdExpiry(of:)) != nil
        if change.resource != nil {
            try await tx.sql.raw(
                "INSERT INTO hh_appointment_state (appointment_id, status, start_ms, held) VALUES (\(bind: change.id), \(bind: status), \(bind: start), \(bind: held ? 1 : 0))"
            ).run()
        }
        if let jobs, before?.status != status || before?.start != start {
            try await jobs.cancel(dedupePrefix: AppointmentReminder.dedupePrefix(change.id), in: tx)
            if status == "booked", let start {
                let now = Instant.millis(Now.date)
                for minutes in reminderMinutes where start - Int64(minutes) * 60_000 > now {
                    try await jobs.enqueue(
                        kind: AppointmentReminder.kind, payload: "\(change.id) \(start) \(minutes)", runAt: start - Int64(minutes) * 60_000,
                        dedupeKey: AppointmentReminder.dedupePrefix(change.id) + "\(start):\(minutes)", in: tx)
                }
            }
        }
        // (a hold is its own phase: it becoming a booking or a request is a change of status)
        let phaseBefore = before.map { $0.held ? "hold" : $0.status }
        let phase = held ? "hold" : status
        let topic: String
        let moved = phaseBefore == phase && before?.start != start && BookingRule.activeStatuses.contains(status)
        if phaseBefore != phase {
            topic = "appointment.\(status)"
        } else if moved {
            topic = "appointment.moved"
        } else {
            return
        }
        let patient = (change.resource?["participant"]?.arrayValue ?? []).compactMap { $0["actor"]?["reference"]?.stringValue }.first { $0.hasPrefix("Patient/") }
        try await log.append([.init(topic: topic, subject: change.reference, patient: patient)], in: tx)
        if let jobs, let notice = AppointmentNotice.Notice(before: phaseBefore, after: phase, moved: moved, writer: change.writer) {
            try await jobs.enqueue(
                kind: AppointmentNotice.kind, payload: "\(change.id) \(notice.rawValue)", runAt: Instant.millis(Now.date),
                dedupeKey: "notice:\(change.reference):\(change.version)", in: tx)
        }
    }
}
