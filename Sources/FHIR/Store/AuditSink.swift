import Kernel
import Storage

/// Where FHIR interactions are audited. Changes are audited in their own transaction; reads,
/// searches and failures, which have no transaction of their own, are appended soon after in a
/// shared one. Implemented by the Audit module and wired in ServerApp.
///
/// The trail keeps AuditEvents in its own tables (not as indexed resources), so it also serves
/// reading and searching them.
package protocol AuditSink: AuditRecording {
    func append(_ records: [AuditRecord], in tx: DatabaseTransaction) async throws
    /// The AuditEvent with this id (version 1, the only one), or nil.
    func event(id: String) async throws -> ResourceVersion?
    /// AuditEvents matching a search (the parameters the trail indexes; others are a 400).
    func events(_ request: SearchRequest) async throws -> SearchEngine.Result
}
