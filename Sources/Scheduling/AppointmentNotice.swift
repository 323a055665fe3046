import Events
import FHIR
import Foundation
import Kernel
import Mail
import Storage

/// The notices a change of an appointment calls for, by email, queued by `AppointmentEvents`
/// in the change's transaction (and in the portal and the console through the event log, like
/// every change): the clinician hears when a patient books, asks for, cancels or moves an
/// appointment; the patient hears when the practice approves or declines a request, or cancels
/// or moves a booking. Nobody is told of their own change. Clinicians by email; patients by
/// email and text as they chose (`PatientContact`). They say when and with whom, never why,
/// and a clinician's never names the patient. Without email or SMS they do nothing.
package struct AppointmentNotice: JobHandler {
    package static let kind = "appointment.notice"
    package var kind: String { Self.kind }
    package var maxAttempts: Int { 5 }

    package enum Notice: String, Sendable, CaseIterable {
        // to the clinician
        case booked, requested, cancelledByPatient, movedByPatient
        // to the patient
        case approved, declined, cancelledByPractice, movedByPractice

        package var toPatient: Bool { [.approved, .declined, .cancelledByPractice, .movedByPractice].contains(self) }

        /// What a change from phase `before` (a status, or `hold`; nil for a new appointment) to
        /// `after` calls for, given who wrote it. A job of HealthHub's (a hold running out) and
        /// a write outside any interaction (an import) call for none.
        package init?(before: String?, after: String, moved: Bool, writer: String?) {
            guard let writer else { return nil }
            // (a proxy acting for the patient writes as their RelatedPerson)
            let byPatient = writer.hasPrefix("Patient/") || writer.hasPrefix("RelatedPerson/")
            let byPractice = writer.hasPrefix("Practitioner/") || writer.hasPrefix("User/")
            let new = before == nil || before == "hold" || before == "cancelled"
            let active = before == "pending" || before == "booked"
            if byPatient {
                switch after {
                case "booked" where new: self = .booked
                case "pending" where new: self = .requested
                case "cancelled" where active: self = .cancelledByPatient
                case _ where moved: self = .movedByPatient
                default: return nil
                }
            } else if byPractice {
                switch (before, after) {
                case ("pending", "booked"): self = .approved
                case ("pending", "cancelled"): self = .declined
                case ("booked", "cancelled"): self = .cancelledByPractice
                case _ where moved: self = .movedByPractice
                default: return nil
                }
            } else {
                return nil
            }
        }
    }

    let service: FHIRService
    let notifier: Notifier
    let timeZone: TimeZone
    /// The sign-in email of the account linked to a Practitioner, when its record has none.
    let accountEmail: @Sendable (String) async throws -> String?

    package init(
        service: FHIRService, notifier: Notifier, timeZone: TimeZone, accountEmail: @escaping @Sendable (String) async throws -> String?
    ) {
        self.service = service
        self.notifier = notifier
        self.timeZone = timeZone
        self.accountEmail = accountEmail
    }

    package func perform(_ job: JobQueue.Job) async throws -> @Sendable (DatabaseTransaction) async throws -> Void {
        let parts = job.payload.split(separator: " ").map(String.init)
        guard notifier.configured, parts.count == 2, ResourceID.isValid(parts[0]), let notice = Notice(rawValue: parts[1]) else { return { _ in } }
        let access = RequestAccess(healthHub: .scheduling, policy: service.policy)
        // Reading the appointment and an address is an access to patient data: audited.
        var record = AuditRecord(action: .read, interaction: "appointment-notice", agent: "healthhub scheduling")
        record.resources = ["Appointment/\(parts[0])"]
        try await service.audited(record) { record in
            guard let current = try? await service.read("Appointment", parts[0], access: access), let content = current.content,
                let appointment = try JSON.parse(content).objectValue
            else { return }
            let (practitioner, patient) = SchedulingOperations.people(appointment)
            record.patients = patient.map { [$0] } ?? []
            let (subject, lines, text) = message(notice, appointment, job: job.id)
            if notice.toPatient, let patient, let contact = try await contact(of: patient, access: access) {
                try await notifier.tell(contact, subject: subject, lines: lines, text: text, done: job.done)
            } else if !notice.toPatient, let practitioner, let address = try await staffAddress(practitioner, access: access) {
                try await notifier.email(address, subject: subject, lines: lines)
            }
        }
        return { _ in }
    }

    func record(_ type: String, _ id: String, access: RequestAccess) async throws -> JSON? {
        guard ResourceID.isValid(id), let v = try? await service.read(type, id, access: access), let content = v.content else { return nil }
        return try JSON.parse(content)
    }

    func contact(of patient: String, access: RequestAccess) async throws -> PatientContact? {
        try await record("Patient", String(patient.dropFirst("Patient/".count)), access: access).map(PatientContact.init(patient:))
    }

    func staffAddress(_ practitionerID: String, access: RequestAccess) async throws -> String? {
        if let record = try await record("Practitioner", practitionerID, access: access), let address = Mail.address(inTelecom: record["telecom"]?.arrayValue ?? []) {
            return address
        }
        return try await accountEmail(practitionerID).flatMap { Mail.isAddress($0) ? $0 : nil }
    }

    func message(_ notice: Notice, _ appointment: JSONObject, job: String) -> (subject: String, lines: [String], text: String) {
        let when = DateFormatter()
        when.timeZone = timeZone
        when.locale = Locale(identifier: "en_US_POSIX")
        when.dateFormat = "EEEE d MMMM yyyy 'at' HH:mm zzz"
        let start = appointment["start"]?.stringValue.flatMap(DateRange.init)?.low
        let at = start.map { " on " + when.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? ""
        let with =
            (appointment["participant"]?.arrayValue ?? []).first { $0["actor"]?["reference"]?.stringValue?.hasPrefix("Practitioner/") == true }?["actor"]?[
                "display"]?
            .stringValue.map { " with \($0)" } ?? ""
        let (subject, line): (String, String) =
            switch notice {
            case .booked: ("New booking", "A patient booked an appointment with you\(at).")
            case .requested: ("A booking waits for your approval", "A patient asked for an appointment with you\(at). Accept or decline it in the console.")
            case .cancelledByPatient: ("Booking cancelled", "A patient cancelled their appointment with you\(at). The time is free again.")
            case .movedByPatient: ("Booking moved", "A patient moved their appointment with you; it is now\(at).")
            case .approved: ("Your appointment is confirmed", "Your appointment\(with)\(at) is confirmed.")
            case .declined: ("Your appointment request was declined", "Your request for an appointment\(with)\(at) was declined. Please choose another time.")
            case .cancelledByPractice: ("Your appointment is cancelled", "Your appointment\(with)\(at) was cancelled by the practice. Please choose another time.")
            case .movedByPractice: ("Your appointment was moved", "The practice moved your appointment\(with); it is now\(at).")
            }
        return (
            subject,
            [
                line, "", notice.toPatient ? "Sign in to HealthHub to see your appointments." : "Sign in to the HealthHub console to see your schedule.", "",
                "(Notice \(job); please do not reply to this message.)",
            ], line
        )
    }
}
