import Foundation
import HTTPTypes
import Kernel

/// AuditEvent search, in FHIR terms, over what the audit trail indexes: `_id`, `date`, `agent`,
/// `entity`, `patient`, `subtype`, `action`, `outcome`; sorted by `date` (newest first by
/// default). Translated into the trail's own `AuditQuery`; anything else is a 400.
enum AuditEventSearch {
    static let supported = ["_id", "date", "agent", "entity", "patient", "subtype", "action", "outcome"]

    static func unsupported(_ what: String) -> FHIRError {
        FHIRError(
            .badRequest, code: "not-supported",
            "AuditEvent search supports \(supported.joined(separator: ", ")), _count, _offset, _total, _summary=count and _sort=date; not \(what.prefix(64))")
    }

    static func query(_ request: SearchRequest) throws(FHIRError) -> AuditQuery {
        if !request.includes.isEmpty { throw unsupported("_include/_revinclude") }
        // An auditor's search that silently dropped a parameter would show more than was asked
        // for as if it were the answer: unknown parameters are a 400 here, lenient or not.
        if let ignored = request.warnings.first { throw FHIRError(.badRequest, code: "not-supported", ignored.diagnostics.replacingOccurrences(of: "; it was ignored", with: "")) }
        var clauses: [[AuditQuery.Term]] = []
        for clause in request.clauses {
            guard supported.contains(clause.name), clause.chain.isEmpty else { throw unsupported(clause.name) }
            if let m = clause.modifier, !(m == "Patient" && (clause.name == "entity" || clause.name == "agent")) { throw unsupported(":\(m)") }
            var terms: [AuditQuery.Term] = []
            for value in clause.values {
                switch clause.name {
                case "_id": terms.append(.id(value))
                case "date": terms.append(try date(value))
                case "agent": terms.append(.agent(reference(value, defaultType: nil)))
                case "entity": terms.append(.entity(reference(value, defaultType: nil)))
                case "patient": terms.append(.entity(reference(value, defaultType: "Patient")))
                case "subtype": terms.append(.subtype(code(value)))
                case "action": terms.append(.action(code(value)))
                default: terms.append(.outcome(code(value)))
                }
            }
            clauses.append(terms)
        }
        var newestFirst = true
        if let key = request.sort.first {
            guard request.sort.count == 1, key.name == "date" || key.name == "_lastUpdated" else { throw unsupported("_sort=\(key.name)") }
            newestFirst = key.descending
        }
        let countTotal = request.total == .accurate || request.total == .estimate || request.summary == .count
        return AuditQuery(
            clauses: clauses, newestFirst: newestFirst, count: request.summary == .count ? 0 : request.count,
            offset: request.offset, countTotal: countTotal)
    }

    /// The page as a search result; without a counted total, the total is given when it comes
    /// free (the whole result fits in this page).
    static func result(_ page: AuditPage, _ request: SearchRequest, query: AuditQuery) -> SearchEngine.Result {
        let matches = page.events.map { ResourceVersion(type: "AuditEvent", id: $0.id, version: 1, lastUpdated: $0.recorded, deleted: false, content: $0.content) }
        var total = page.total
        if total == nil, request.total == nil, query.count > 0, !page.hasMore, !matches.isEmpty || request.offset == 0 {
            total = request.offset + matches.count
        }
        return SearchEngine.Result(matches: matches, included: [], total: total, hasMore: page.hasMore)
    }

    /// `Patient/1`, or a bare id of `defaultType`; agents that are not FHIR resources are
    /// `User/<id>` and `Client/<id>`.
    static func reference(_ value: String, defaultType: String?) -> String {
        if value.contains("/") { return value.split(separator: "/").suffix(2).joined(separator: "/") }
        return defaultType.map { "\($0)/\(value)" } ?? value
    }

    static func code(_ value: String) -> String {
        value.firstIndex(of: "|").map { String(value[value.index(after: $0)...]) } ?? value
    }

    static func date(_ value: String) throws(FHIRError) -> AuditQuery.Term {
        var prefix = "eq"
        var text = value
        if value.count > 2, ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"].contains(String(value.prefix(2))) {
            prefix = String(value.prefix(2))
            text = String(value.dropFirst(2))
        }
        guard let r = DateRange(text) else {
            throw FHIRError(.badRequest, code: "invalid", "Invalid date for parameter 'date'; use YYYY, YYYY-MM, YYYY-MM-DD or a dateTime, with an optional prefix")
        }
        let comparison: AuditQuery.Comparison =
            switch prefix {
            case "ne": .outside
            case "gt", "sa": .after
            case "lt", "eb": .before
            case "ge": .atOrAfter
            case "le": .atOrBefore
            default: .within
            }
        return .recorded(comparison, low: r.low, high: r.high)
    }
}
