import Events
import FHIR
import Foundation
import Kernel
import Mail
import Storage

/// What a patient gets when their care team writes to them (email, text, as they chose): that
/// there is a new message, never what it says (queued by `ThreadRule` in the message's transaction). Reading the
/// patient's address is audited like any access to patient data. Without email or SMS it does nothing.
package struct MessageNotification: JobHandler {
    package static let kind = "message.notify"
    package var kind: String { Self.kind }
    package var maxAttempts: Int { 5 }
    let service: FHIRService
    let notifier: Notifier

    package init(service: FHIRService, notifier: Notifier) {
        self.service = service
        self.notifier = notifier
    }

    package func perform(_ job: JobQueue.Job) async throws -> @Sendable (DatabaseTransaction) async throws -> Void {
        let parts = job.payload.split(separator: " ").map(String.init)
        guard notifier.configured, parts.count == 2, ResourceID.isValid(parts[0]) else { return { _ in } }
        let access = RequestAccess(healthHub: .messaging, policy: service.policy)
        var record = AuditRecord(action: .read, interaction: "message-notification", agent: "healthhub messaging")
        record.patients = ["Patient/\(parts[0])"]
        record.resources = ["Communication/\(parts[1])"]
        try await service.audited(record) { _ in
            guard let v = try? await service.read("Patient", parts[0], access: access), let content = v.content else { return }
            try await notifier.tell(
                PatientContact(patient: try JSON.parse(content)), subject: "You have a new message",
                lines: [
                    "Your care team has sent you a message in HealthHub.", "", "Sign in to HealthHub to read it.", "",
                    "(Notification \(job.id); please do not reply to this message.)",
                ], text: "Your care team has sent you a message. Sign in to read it.", done: job.done)
        }
        return { _ in }
    }
}
