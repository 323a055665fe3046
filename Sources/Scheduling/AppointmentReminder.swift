import Events
import FHIR
import Foundation
import Kernel
import Mail
import Storage

/// A reminder before a booked appointment (the jobs `AppointmentEvents` queues): in the portal
/// (an `appointment.reminder` event about the patient, committed with the job), and by email and
/// text message as the patient chose (`PatientContact`) where those are set up. It says when and
/// with whom, nothing clinical. A reminder whose appointment was cancelled or moved since is skipped.
package struct AppointmentReminder: JobHandler {
    package static let kind = "appointment.reminder"
    package var kind: String { Self.kind }
    package var maxAttempts: Int { 5 }
    let service: FHIRService
    let log: EventLog
    let notifier: Notifier
    /// The practice's time zone, for the time in the message.
    let timeZone: TimeZone

    package init(service: FHIRService, log: EventLog, notifier: Notifier, timeZone: TimeZone) {
        self.service = service
        self.log = log
        self.notifier = notifier
        self.timeZone = timeZone
    }

    static func dedupePrefix(_ appointment: String) -> String { "reminder:Appointment/\(appointment):" }

    package func perform(_ job: JobQueue.Job) async throws -> @Sendable (DatabaseTransaction) async throws -> Void {
        let parts = job.payload.split(separator: " ").map(String.init)
        guard parts.count == 3, ResourceID.isValid(parts[0]), let start = Int64(parts[1]) else { return { _ in } }
        let access = RequestAccess(healthHub: .scheduling, policy: service.policy)
        // Reading the appointment and the patient's address is an access to patient data like
        // any other: audited (as HealthHub's scheduling, naming the patient), whatever it finds.
        var record = AuditRecord(action: .read, interaction: "reminder", agent: "healthhub scheduling")
        record.resources = ["Appointment/\(parts[0])"]
        let patient: String?? = try await service.audited(record) { record in
            guard let current = try? await service.read("Appointment", parts[0], access: access), let content = current.content,
                let appointment = try JSON.parse(content).objectValue, appointment["status"]?.stringValue == "booked",
                appointment["start"]?.stringValue.flatMap(DateRange.init)?.low == start
            else { return nil }
            let (_, patient) = SchedulingOperations.people(appointment)
            record.patients = patient.map { [$0] } ?? []
            if notifier.configured, let patient, let contact = try await contact(of: patient, access: access) {
                let (subject, lines, text) = message(appointment, start: start, job: job.id)
                try await notifier.tell(contact, subject: subject, lines: lines, text: text, done: job.done)
            }
            return .some(patient)
        }
        guard let patient else { return { _ in } }
        let log = log
        return { tx in
            try await log.append([.init(topic: "appointment.reminder", subject: "Appointment/\(parts[0])", patient: patient)], in: tx)
        }
    }

    /// The message: the day, the time and the practitioner's name, nothing else (the patient's
    /// own name stays out of it too).
    func message(_ appointment: JSONObject, start: Int64, job: String) -> (subject: String, lines: [String], text: String) {
        let when = DateFormatter()
        when.timeZone = timeZone
        when.locale = Locale(identifier: "en_US_POSIX")
        when.dateFormat = "EEEE d MMMM yyyy 'at' HH:mm zzz"
        let with = (appointment["participant"]?.arrayValue ?? []).first { $0["actor"]?["reference"]?.stringValue?.hasPrefix("Practitioner/") == true }?["actor"]?["display"]?
            .stringValue
        let sentence = "You have an appointment on \(when.string(from: Date(timeIntervalSince1970: Double(start) / 1000)))" + (with.map { " with \($0)" } ?? "") + "."
        return (
            "Reminder: your appointment",
            [sentence, "", "Sign in to HealthHub to see it, move it or cancel it.", "", "(Reminder \(job); please do not reply to this message.)"], sentence
        )
    }

    /// How the patient is reached.
    func contact(of patient: String, access: RequestAccess) async throws -> PatientContact? {
        let id = String(patient.dropFirst("Patient/".count))
        guard ResourceID.isValid(id), let v = try? await service.read("Patient", id, access: access), let content = v.content else { return nil }
        return PatientContact(patient: try JSON.parse(content))
    }
}
