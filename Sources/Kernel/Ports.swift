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
