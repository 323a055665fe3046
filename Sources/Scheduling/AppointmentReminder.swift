import Events
import FHIR
import Foundation
import Kernel
import Mail
import Storage

/// A reminder before a booked appointment (the jobs `AppointmentEvents` queues): in the portal
/// (an `appointment.reminder` event about the patient, committed with the job), and by email when
/// email is configured and the Patient has an email address. The email says when and with whom,
/// nothing clinical. A reminder whose appointment was cancelled or moved since is skipped.
package struct AppointmentReminder: JobHandler {
    package static let kind = "appointment.reminder"
    package var kind: String { Self.kind }
    package var maxAttempts: Int { 5 }
    let service: FHIRService
    let log: EventLog
    let mail: SMTPClient?
    let from: String
    /// The practice's time zone, for the time in the email.
    let timeZone: TimeZone

    package init(service: FHIRService, log: EventLog, mail: SMTPClient?, from: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        self.service = service
        self.log = log
        self.mail = mail
        self.from = from
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
            if let mail, let patient, let address = try await email(of: patient, access: access) {
                try await mail.send(message(appointment, start: start, to: address, job: job.id))
            }
            return .some(patient)
        }
        guard let patient else { return { _ in } }
        let log = log
        return { tx in
            try await log.append([.init(topic: "appointment.reminder", subject: "Appointment/\(parts[0])", patient: patient)], in: tx)
        }
    }

    /// The email: the day, the time and the practitioner's name, nothing else (the patient's
    /// own name stays out of it too).
    func message(_ appointment: JSONObject, start: Int64, to address: String, job: String) -> Mail {
        let when = DateFormatter()
        when.timeZone = timeZone
        when.locale = Locale(identifier: "en_US_POSIX")
        when.dateFormat = "EEEE d MMMM yyyy 'at' HH:mm zzz"
        let with = (appointment["participant"]?.arrayValue ?? []).first { $0["actor"]?["reference"]?.stringValue?.hasPrefix("Practitioner/") == true }?["actor"]?["display"]?
            .stringValue
        return Mail(
            fromName: "HealthHub", from: from, to: [address], subject: "Reminder: your appointment",
            lines: [
                "You have an appointment on \(when.string(from: Date(timeIntervalSince1970: Double(start) / 1000)))" + (with.map { " with \($0)" } ?? "") + ".",
                "", "Sign in to HealthHub to see it, move it or cancel it.", "", "(Reminder \(job); please do not reply to this message.)",
            ])
    }

    /// The Patient's first email address, if any.
    func email(of patient: String, access: RequestAccess) async throws -> String? {
        let id = String(patient.dropFirst("Patient/".count))
        guard ResourceID.isValid(id), let v = try? await service.read("Patient", id, access: access), let content = v.content else { return nil }
        return Mail.address(inTelecom: try JSON.parse(content)["telecom"]?.arrayValue ?? [])
    }
}
