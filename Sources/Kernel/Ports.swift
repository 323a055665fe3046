import Foundation

/// Ports: what one feature module needs of another, declared here and wired by the composition
/// root (ServerApp), so feature modules never import each other.

/// Where audit records go. The Audit module's trail implements it; sign-in, token and gateway
/// events are written through it.
package protocol AuditRecording: Sendable {
    /// Appends records soon (batched with others), returning once they are stored.
    func appendSoon(_ records: [AuditRecord]) async throws
}

/// Whether a practitioner has a care relationship with a patient (an Encounter or CareTeam they
/// take part in, or an assignment). The FHIR module's access policy implements it; the SMART
/// launch checks a chosen patient with it.
package protocol CareRelationships: Sendable {
    func isInCare(patient: String, practitioner: String) async throws -> Bool
}

/// Where audit records go, in a transaction of the caller's (`Transaction` is Storage's
/// `DatabaseTransaction`; Kernel names no storage type), or soon in a shared one. The Audit
/// module's trail implements it; the FHIR interactions write through it.
package protocol AuditSink<Transaction>: AuditRecording {
    associatedtype Transaction
    /// Appends in the caller's transaction, so the audit of a change commits with the change.
    func append(_ records: [AuditRecord], in tx: Transaction) async throws
}

/// Turns an audit record into the bytes the trail seals and chains (the FHIR module renders a
/// FHIR R4 AuditEvent with this id and recording time).
package protocol AuditEventRendering: Sendable {
    func render(_ record: AuditRecord, id: String, recorded millis: Int64) -> Data
}

/// Reading the trail back: one event by id, or a page of events matching a query. The FHIR
/// module serves `/fhir/AuditEvent` through it.
package protocol AuditEventReading: Sendable {
    func event(id: String) async throws -> StoredAuditEvent?
    func events(_ query: AuditQuery) async throws -> AuditPage
}
