import FHIR
import Foundation
import HTTPTypes
import Kernel
import SQLKit

/// AuditEvent search over the trail's own columns: `_id`, `date`, `agent`, `entity`, `patient`,
/// `subtype`, `action`, `outcome`; sorted by `date` (newest first by default).
enum AuditSearch {
    static let supported = ["_id", "date", "agent", "entity", "patient", "subtype", "action", "outcome"]

    static func unsupported(_ what: String) -> FHIRError {
        FHIRError(.badRequest, code: "not-supported",
                  "AuditEvent search supports \(supported.joined(separator: ", ")), _count, _offset, _total, _summary=count and _sort=date; not \(what.prefix(64))")
    }

    static func condition(_ request: SearchRequest) throws(FHIRError) -> SQLQueryString {
        if !request.includes.isEmpty { throw unsupported("_include/_revinclude") }
        var sql: SQLQueryString = "1 = 1"
        for clause in request.clauses {
            guard supported.contains(clause.name), clause.chain.isEmpty else { throw unsupported(clause.name) }
            if let m = clause.modifier, !(m == "Patient" && (clause.name == "entity" || clause.name == "agent")) { throw unsupported(":\(m)") }
            var ors: [SQLQueryString] = []
            for value in clause.values {
                switch clause.name {
                case "_id": ors.append("e.id = \(bind: value)")
                case "date": ors.append(try date(value))
                case "agent": ors.append("e.agent = \(bind: reference(value, defaultType: nil))")
                case "entity": ors.append("e.seq IN (SELECT n.seq FROM hh_audit_entity n WHERE n.reference = \(bind: reference(value, defaultType: nil)))")
                case "patient": ors.append("e.seq IN (SELECT n.seq FROM hh_audit_entity n WHERE n.reference = \(bind: reference(value, defaultType: "Patient")))")
                case "subtype": ors.append("e.subtype = \(bind: code(value))")
                case "action": ors.append("e.action = \(bind: code(value))")
                default: ors.append("e.outcome = \(bind: code(value))")
                }
            }
            var group: SQLQueryString = ""
            for (i, o) in ors.enumerated() { group += i == 0 ? "(" + o + ")" : " OR (" + o + ")" }
            sql += " AND (" + group + ")"
        }
        return sql
    }

    static func order(_ request: SearchRequest) throws(FHIRError) -> SQLQueryString {
        guard let key = request.sort.first else { return "e.seq DESC" }
        guard request.sort.count == 1, key.name == "date" || key.name == "_lastUpdated" else { throw unsupported("_sort=\(key.name)") }
        return key.descending ? "e.seq DESC" : "e.seq ASC"
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

    static func date(_ value: String) throws(FHIRError) -> SQLQueryString {
        var prefix = "eq"
        var text = value
        if value.count > 2, ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"].contains(String(value.prefix(2))) {
            prefix = String(value.prefix(2))
            text = String(value.dropFirst(2))
        }
        guard let r = DateRange(text) else {
            throw FHIRError(.badRequest, code: "invalid", "Invalid date for parameter 'date'; use YYYY, YYYY-MM, YYYY-MM-DD or a dateTime, with an optional prefix")
        }
        switch prefix {
        case "ne": return "(e.recorded < \(bind: r.low) OR e.recorded > \(bind: r.high))"
        case "gt", "sa": return "e.recorded > \(bind: r.high)"
        case "lt", "eb": return "e.recorded < \(bind: r.low)"
        case "ge": return "e.recorded >= \(bind: r.low)"
        case "le": return "e.recorded <= \(bind: r.high)"
        default: return "e.recorded >= \(bind: r.low) AND e.recorded <= \(bind: r.high)"
        }
    }
}
