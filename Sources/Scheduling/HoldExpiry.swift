import Events
import FHIR
import Foundation
import Kernel
import Storage

/// Cancels a hold that ran out (the job `BookingRule` queues for each hold's expiry). Its time
/// is free from the moment of expiry anyway (the rule ignores expired holds); this makes the
/// Appointment say so. Idempotent: a hold already booked, cancelled or moved is left alone.
package struct HoldExpiry: JobHandler {
    package static let kind = "appointment.hold-expiry"
    package var kind: String { Self.kind }
    package var maxAttempts: Int { 5 }
    let service: FHIRService

    package init(service: FHIRService) {
        self.service = service
    }

    package func perform(_ job: JobQueue.Job) async throws -> @Sendable (DatabaseTransaction) async throws -> Void {
        let access = RequestAccess(healthHub: .scheduling, policy: service.policy)
        let id = job.payload
        guard ResourceID.isValid(id), let current = try? await service.read("Appointment", id, access: access), let content = current.content,
            var appointment = try JSON.parse(content).objectValue, appointment["status"]?.stringValue == "pending",
            let expires = SchedulingVocabulary.holdExpiry(of: appointment), expires <= Instant.millis(Now.date)
        else { return { _ in } }
        appointment = SchedulingOperations.withoutHold(appointment)
        appointment["status"] = "cancelled"
        appointment["cancelationReason"] = ["text": "The hold ran out before the appointment was booked"]
        var record = AuditRecord(action: .update, interaction: "update", agent: "healthhub scheduling")
        record.resources = ["Appointment/\(id)"]
        _ = try await service.update(appointment, type: "Appointment", id: id, ifMatch: current.version, access: access, audit: record)
        return { _ in }
    }
}
