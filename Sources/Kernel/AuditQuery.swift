import Foundation

/// One stored audit event: its id, when it was recorded (ms since 1970) and its rendered bytes.
package struct StoredAuditEvent: Sendable, Equatable {
    package let id: String
    package let recorded: Int64
    package let content: Data

    package init(id: String, recorded: Int64, content: Data) {
        self.id = id
        self.recorded = recorded
        self.content = content
    }
}

/// A query over the audit trail's own columns, independent of any search syntax: every clause
/// must match, and a clause matches when any of its terms does.
package struct AuditQuery: Sendable, Equatable {
    package enum Comparison: Sendable, Equatable { case within, outside, after, before, atOrAfter, atOrBefore }

    package enum Term: Sendable, Equatable {
        case id(String)
        /// The recording time against the range `low...high` (ms since 1970).
        case recorded(Comparison, low: Int64, high: Int64)
        case agent(String)
        /// Any patient or resource the event names (`Patient/1`, `Observation/9`).
        case entity(String)
        case subtype(String)
        case action(String)
        case outcome(String)
    }

    package var clauses: [[Term]]
    package var newestFirst: Bool
    /// At most this many events (0: only the total).
    package var count: Int
    package var offset: Int
    /// Whether to count every match.
    package var countTotal: Bool

    package init(clauses: [[Term]] = [], newestFirst: Bool = true, count: Int, offset: Int = 0, countTotal: Bool = false) {
        self.clauses = clauses
        self.newestFirst = newestFirst
        self.count = count
        self.offset = offset
        self.countTotal = countTotal
    }
}

/// A page of audit events; `total` only when the query asked for it.
package struct AuditPage: Sendable, Equatable {
    package let events: [StoredAuditEvent]
    package let total: Int?
    package let hasMore: Bool

    package init(events: [StoredAuditEvent], total: Int?, hasMore: Bool) {
        self.events = events
        self.total = total
        self.hasMore = hasMore
    }
}
