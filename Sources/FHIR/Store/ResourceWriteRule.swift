import Kernel
import Storage

/// One written version, as a write rule sees it.
package struct ResourceChange: Sendable {
    package let type: String
    package let id: String
    package let version: Int
    /// The resource as stored (stamped with its id and meta); nil for a deletion.
    package let resource: JSONObject?

    package var reference: String { "\(type)/\(id)" }

    /// Who writes it: the audit agent of the interaction (`Patient/1`, `Practitioner/2`,
    /// `User/3`, `healthhub scheduling`), nil when the write is not part of one (an import).
    package var writer: String? { ResourceWriter.current }
}

/// The agent of the interaction a task is running, set by `FHIRService.audited` around it, so
/// that write rules can tell who made a change (a patient booking, a clinician declining).
package enum ResourceWriter {
    @TaskLocal package static var current: String?
}

/// A rule that holds across every way a resource is written: plain and conditional creates,
/// updates, patches, deletes, Bundles and imports all end in `ResourceStore`, which runs the
/// rules of the written type inside the write's transaction, after the rows are written.
/// A rule that throws rolls the whole write back (a Bundle's other entries too), so what it
/// guarantees cannot be bypassed by choosing another interaction. A rule may write through
/// `store` (its own rules then run too) and into its own tables with `tx`.
package protocol ResourceWriteRule: Sendable {
    /// The resource types whose writes this rule checks.
    var types: Set<String> { get }
    func apply(_ change: ResourceChange, store: ResourceStore, in tx: DatabaseTransaction) async throws
}
