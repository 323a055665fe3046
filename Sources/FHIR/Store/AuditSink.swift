import Kernel
import Storage

/// Where FHIR interactions are audited. Changes are audited in their own transaction; reads,
/// searches and failures, which have no transaction of their own, are appended soon after in a
/// shared one. Implemented by the Audit module and wired in ServerApp.
package protocol AuditSink: Sendable {
    func append(_ records: [AuditRecord], in tx: DatabaseTransaction) async throws
    func appendSoon(_ records: [AuditRecord]) async throws
}
