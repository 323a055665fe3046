import Foundation
import HTTPTypes
import Kernel
import SQLKit

/// Turns search clauses into SQL over the index tables: each clause is an
/// `r.res_id IN (subquery)` filter, so the planner uses the (res_type, param, value) indexes
/// and every clause composes with AND. One SQL text serves SQLite and PostgreSQL.
struct SearchSQL {
    let registry: SearchParameterRegistry
    let definitions: FHIRDefinitions
    /// What the request may see of a chained-to type (aliased `t`): the same limits as a read.
    let access: RequestAccess

    /// The WHERE condition (without `WHERE`) for resources of `type` aliased as `r`.
    ///
    /// The most selective-looking clause drives (`r.res_id IN (...)` over its index); the others
    /// are correlated `EXISTS` probes of the few index rows of each candidate. Had every clause
    /// been an IN-list, SQLite would materialize e.g. every heart-rate Observation id of the
    /// database for `patient=X&code=8867-4`.
    func condition(for request: SearchRequest) throws(FHIRError) -> SQLQueryString {
        var sql: SQLQueryString = "r.res_type = \(bind: request.type) AND r.deleted = 0"
        let ordered = request.clauses.enumerated().sorted { (Self.rank($0.element), $0.offset) < (Self.rank($1.element), $1.offset) }.map(\.element)
        for (i, clause) in ordered.enumerated() {
            sql += " AND " + (try clauseSQL(clause, type: request.type, column: "r.res_id", probe: i > 0 ? "r" : nil))
        }
        return sql
    }

    /// Lower is more selective, by parameter type (ids and references first, dates last).
    static func rank(_ clause: SearchRequest.Clause) -> Int {
        guard let param = clause.parameter, clause.modifier != "missing", clause.modifier != "not" else { return 9 }
        if param.code == "_id" { return 0 }
        switch param.type {
        case .reference: return clause.chain.isEmpty ? 1 : 5
        case .token: return 2
        case .string, .uri: return 3
        case .quantity, .number: return 4
        case .date: return 6
        case .composite, .special: return 9
        }
    }

    /// `probe`: the alias of the outer resource row when this clause may be an EXISTS probe.
    func clauseSQL(_ clause: SearchRequest.Clause, type: String, column: String, probe: String? = nil) throws(FHIRError) -> SQLQueryString {
        guard let param = clause.parameter else { throw .invalid("Unknown parameter \(clause.name)") }
        if clause.modifier == "missing" {
            guard let flag = clause.values.first, flag == "true" || flag == "false" else {
                throw .invalid("The :missing modifier takes true or false")
            }
            if param.code == "_id" || param.code == "_lastUpdated" {
                return flag == "true" ? "1 = 0" : "1 = 1"
            }
            let table = Self.table(for: param.type)
            let sub: SQLQueryString = "SELECT res_id FROM \(unsafeRaw: table) WHERE res_type = \(bind: type) AND param = \(bind: param.code)"
            return flag == "true" ? "\(unsafeRaw: column) NOT IN (" + sub + ")" : "\(unsafeRaw: column) IN (" + sub + ")"
        }
        if param.code == "_id" {
            guard clause.modifier == nil || clause.modifier == "not" else { throw unsupportedModifier(clause) }
            return "\(unsafeRaw: column) \(unsafeRaw: clause.modifier == "not" ? "NOT IN" : "IN") (" + list(clause.values) + ")"
        }
        if param.code == "_lastUpdated" {
            guard clause.modifier == nil else { throw unsupportedModifier(clause) }
            let ors = try clause.values.map { v throws(FHIRError) in try dateCondition(v, low: "r2.last_updated", high: "r2.last_updated", name: clause.name) }
            return "\(unsafeRaw: column) IN (SELECT r2.res_id FROM hh_resource r2 WHERE r2.res_type = \(bind: type) AND (" + join(ors, " OR ") + "))"
        }
        let negate = clause.modifier == "not"
        var ors: [SQLQueryString] = []
        switch param.type {
        case .token:
            guard clause.modifier == nil || negate else { throw unsupportedModifier(clause) }
            // Plain codes become one `IN`; `system|code` values one condition each.
            let plain = clause.values.filter { !$0.contains("|") }
            ors = clause.values.filter { $0.contains("|") }.map(tokenCondition)
            if plain.count == 1 { ors.append(tokenCondition(plain[0])) } else if !plain.isEmpty { ors.append("i.code IN (" + list(plain.map(SearchText.capped)) + ")") }
        case .string:
            guard clause.modifier == nil || clause.modifier == "exact" || clause.modifier == "contains" else { throw unsupportedModifier(clause) }
            ors = clause.values.map { stringCondition($0, modifier: clause.modifier) }
        case .date:
            guard clause.modifier == nil else { throw unsupportedModifier(clause) }
            ors = try clause.values.map { v throws(FHIRError) in try dateCondition(v, low: "i.low", high: "i.high", name: clause.name) }
        case .reference:
            if !clause.chain.isEmpty {
                return try chainSQL(clause, param: param, type: type, column: column)
            }
            if let m = clause.modifier, !definitions.isResourceType(m) { throw unsupportedModifier(clause) }
            ors = try clause.values.map { v throws(FHIRError) in try referenceCondition(v, typeModifier: clause.modifier, name: clause.name) }
        case .number:
            guard clause.modifier == nil else { throw unsupportedModifier(clause) }
            ors = try clause.values.map { v throws(FHIRError) in try numberCondition(v, column: "i.value", name: clause.name) }
        case .quantity:
            guard clause.modifier == nil else { throw unsupportedModifier(clause) }
            ors = try clause.values.map { v throws(FHIRError) in try quantityCondition(v, name: clause.name) }
        case .uri:
            guard clause.modifier == nil || clause.modifier == "below" else { throw unsupportedModifier(clause) }
            ors = clause.values.map { v in
                clause.modifier == "below" ? "i.value LIKE \(bind: Self.likePrefix(SearchText.capped(v))) ESCAPE '\\'" : "i.value = \(bind: SearchText.capped(v))"
            }
        case .composite, .special:
            throw FHIRError(.badRequest, code: "not-supported", "Search parameter '\(param.code)' is not supported")
        }
        let table = Self.table(for: param.type)
        if let outer = probe, !negate {
            return
                "EXISTS (SELECT 1 FROM \(unsafeRaw: table) i WHERE i.res_type = \(unsafeRaw: outer).res_type AND i.res_id = \(unsafeRaw: outer).res_id AND i.param = \(bind: param.code) AND ("
                + join(ors, " OR ") + "))"
        }
        let sub: SQLQueryString = "SELECT i.res_id FROM \(unsafeRaw: table) i WHERE i.res_type = \(bind: type) AND i.param = \(bind: param.code) AND (" + join(ors, " OR ") + ")"
        return "\(unsafeRaw: column) \(unsafeRaw: negate ? "NOT IN" : "IN") (" + sub + ")"
    }

    /// `subject:Patient.name=x`: references whose target matches the chained search.
    func chainSQL(_ clause: SearchRequest.Clause, param: SearchParameterRegistry.Parameter, type: String, column: String) throws(FHIRError) -> SQLQueryString {
        let candidates = clause.modifier.map { [$0] } ?? (param.definition.targets.isEmpty ? definitions.resourceTypes : param.definition.targets)
        var alternatives: [SQLQueryString] = []
        let next = clause.chain[0]
        var nextCode = next
        var nextModifier: String?
        if let colon = next.firstIndex(of: ":") {
            nextCode = String(next[..<colon])
            nextModifier = String(next[next.index(after: colon)...])
        }
        for target in candidates {
            guard let targetParam = registry.parameter(nextCode, for: target), registry.isSupported(targetParam) else { continue }
            let inner = SearchRequest.Clause(
                name: clause.chain.joined(separator: "."), parameter: targetParam, modifier: nextModifier,
                chain: Array(clause.chain.dropFirst()), values: clause.values)
            let innerSQL = try clauseSQL(inner, type: target, column: "t.res_id")
            var targetRows: SQLQueryString = "SELECT t.res_id FROM hh_resource t WHERE t.res_type = \(bind: target) AND t.deleted = 0 AND " + innerSQL
            if let visible = access.visibility(target, .search, alias: "t") { targetRows += " AND " + visible }
            alternatives.append("(c.target_type = \(bind: target) AND c.target_id IN (" + targetRows + "))")
        }
        guard !alternatives.isEmpty else {
            throw FHIRError(.badRequest, code: "not-supported", "Chained parameter '\(nextCode)' is not known on the target types of '\(param.code)'")
        }
        return "\(unsafeRaw: column) IN (SELECT c.res_id FROM hh_idx_reference c WHERE c.res_type = \(bind: type) AND c.param = \(bind: param.code) AND ("
            + join(alternatives, " OR ") + "))"
    }

    func unsupportedModifier(_ clause: SearchRequest.Clause) -> FHIRError {
        FHIRError(.badRequest, code: "not-supported", "Modifier ':\(clause.modifier ?? "")' is not supported for parameter '\(clause.parameter?.code ?? clause.name)'")
    }

    static func table(for type: SearchParameterDefinition.ParamType) -> String {
        switch type {
        case .string: "hh_idx_string"
        case .token: "hh_idx_token"
        case .date: "hh_idx_date"
        case .reference: "hh_idx_reference"
        case .number: "hh_idx_number"
        case .quantity: "hh_idx_quantity"
        case .uri, .composite, .special: "hh_idx_uri"
        }
    }

    /// `parts` joined by `separator` as a balanced tree of parentheses, so that many values
    /// (up to `SearchRequest.maxValues`) stay far below SQLite's expression depth limit of 1,000.
    func join(_ parts: [SQLQueryString], _ separator: String) -> SQLQueryString {
        guard parts.count > 1 else { return parts.first.map { "(" + $0 + ")" } ?? "" }
        let middle = parts.count / 2
        return "(" + join(Array(parts[..<middle]), separator) + SQLQueryString(separator) + join(Array(parts[middle...]), separator) + ")"
    }

    /// Bound values separated by commas, for `IN (...)`.
    func list(_ values: [String]) -> SQLQueryString {
        var out: SQLQueryString = ""
        for (i, v) in values.enumerated() { out += i == 0 ? "\(bind: v)" : ", \(bind: v)" }
        return out
    }

    static func likePrefix(_ text: String) -> String {
        escapeLike(text) + "%"
    }

    static func escapeLike(_ text: String) -> String {
        var out = ""
        for ch in text {
            if ch == "%" || ch == "_" || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out
    }

    func tokenCondition(_ value: String) -> SQLQueryString {
        guard let bar = value.firstIndex(of: "|") else { return "i.code = \(bind: SearchText.capped(value))" }
        let system = SearchText.capped(String(value[..<bar]))
        let code = SearchText.capped(String(value[value.index(after: bar)...]))
        if system.isEmpty { return "i.system = '' AND i.code = \(bind: code)" }
        if code.isEmpty { return "i.system = \(bind: system)" }
        return "i.code = \(bind: code) AND i.system = \(bind: system)"
    }

    func stringCondition(_ value: String, modifier: String?) -> SQLQueryString {
        switch modifier {
        case "exact": return "i.exact = \(bind: SearchText.capped(value))"
        case "contains": return "i.value LIKE \(bind: "%" + Self.escapeLike(SearchText.normalize(value)) + "%") ESCAPE '\\'"
        default: return "i.value LIKE \(bind: Self.likePrefix(SearchText.normalize(value))) ESCAPE '\\'"
        }
    }

    static let prefixes: Set<String> = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]

    static func splitPrefix(_ value: String) -> (String, String) {
        let p = String(value.prefix(2))
        if value.count > 2, prefixes.contains(p) { return (p, String(value.dropFirst(2))) }
        return ("eq", value)
    }

    func dateCondition(_ value: String, low: String, high: String, name: String) throws(FHIRError) -> SQLQueryString {
        let (prefix, text) = Self.splitPrefix(value)
        guard let r = DateRange(text) else {
            throw FHIRError(
                .badRequest, code: "invalid",
                "Invalid date for parameter '\(name)'; use YYYY, YYYY-MM, YYYY-MM-DD or a dateTime, with an optional prefix (eq, ne, lt, gt, le, ge, sa, eb, ap)")
        }
        let lo = unsafeRaw(low)
        let hi = unsafeRaw(high)
        switch prefix {
        case "eq": return lo + " >= \(bind: r.low) AND " + hi + " <= \(bind: r.high)"
        case "ne": return "NOT (" + lo + " >= \(bind: r.low) AND " + hi + " <= \(bind: r.high))"
        case "gt": return hi + " > \(bind: r.high)"
        case "lt": return lo + " < \(bind: r.low)"
        case "ge": return hi + " >= \(bind: r.low)"
        case "le": return lo + " <= \(bind: r.high)"
        case "sa": return lo + " > \(bind: r.high)"
        case "eb": return hi + " < \(bind: r.low)"
        default:  // ap: within 10% of the distance from now, at least a day
            let now = Instant.millis(Now.date)
            let gap = max(86_400_000, abs(now - r.low) / 10)
            return lo + " <= \(bind: r.high + gap) AND " + hi + " >= \(bind: r.low - gap)"
        }
    }

    func unsafeRaw(_ text: String) -> SQLQueryString { SQLQueryString(text) }

    func numberCondition(_ value: String, column: String, name: String) throws(FHIRError) -> SQLQueryString {
        let (prefix, text) = Self.splitPrefix(value)
        guard let v = Double(text), text.first != "+" else {
            throw FHIRError(.badRequest, code: "invalid", "Invalid number for parameter '\(name)'; use a decimal with an optional prefix (eq, ne, lt, gt, le, ge, sa, eb, ap)")
        }
        // Implicit precision: 100 means [99.5, 100.5); 1.50 means [1.495, 1.505).
        let decimals = text.split(separator: ".").dropFirst().first.map { $0.prefix { $0.isNumber }.count } ?? 0
        let half = 0.5 * pow(10, -Double(decimals))
        let c = unsafeRaw(column)
        switch prefix {
        case "eq": return c + " >= \(bind: v - half) AND " + c + " < \(bind: v + half)"
        case "ne": return c + " < \(bind: v - half) OR " + c + " >= \(bind: v + half)"
        case "gt", "sa": return c + " > \(bind: v)"
        case "lt", "eb": return c + " < \(bind: v)"
        case "ge": return c + " >= \(bind: v)"
        case "le": return c + " <= \(bind: v)"
        default: return c + " >= \(bind: v - abs(v) * 0.1) AND " + c + " <= \(bind: v + abs(v) * 0.1)"
        }
    }

    func quantityCondition(_ value: String, name: String) throws(FHIRError) -> SQLQueryString {
        let parts = value.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        var sql = try numberCondition(parts[0], column: "i.value", name: name)
        if parts.count == 3 {
            if !parts[1].isEmpty { sql = "(" + sql + ") AND i.system = \(bind: parts[1])" }
            if !parts[2].isEmpty { sql = "(" + sql + ") AND i.code = \(bind: parts[2])" }
        } else if parts.count != 1 {
            throw FHIRError(.badRequest, code: "invalid", "Quantity values are [prefix]number[|system|code] (parameter '\(name)')")
        }
        return sql
    }

    func referenceCondition(_ value: String, typeModifier: String?, name: String) throws(FHIRError) -> SQLQueryString {
        if let (type, id) = ReferenceText.typeAndID(value, definitions: definitions) {
            if let typeModifier, typeModifier != type { return "1 = 0" }
            return "i.target_id = \(bind: id) AND i.target_type = \(bind: type)"
        }
        if ResourceID.isValid(value) {
            if let typeModifier { return "i.target_id = \(bind: value) AND i.target_type = \(bind: typeModifier)" }
            return "i.target_id = \(bind: value)"
        }
        if value.contains(":") { return "i.url = \(bind: value)" }  // canonical or external URL
        throw FHIRError(.badRequest, code: "invalid", "Invalid reference for parameter '\(name)'; use Type/id, an id or a URL")
    }

    /// ORDER BY terms for `_sort`, always ending with the id so pages are stable.
    func orderBy(_ request: SearchRequest) throws(FHIRError) -> SQLQueryString {
        var terms: [SQLQueryString] = []
        for key in request.sort {
            let dir = key.descending ? "DESC" : "ASC"
            switch key.name {
            case "_id": terms.append("r.res_id \(unsafeRaw: dir)")
            case "_lastUpdated": terms.append("r.last_updated \(unsafeRaw: dir)")
            default:
                guard let param = registry.parameter(key.name, for: request.type), param.expression != nil else {
                    throw FHIRError(.badRequest, code: "not-supported", "Cannot sort by unknown parameter '\(key.name.prefix(64))'")
                }
                let table = Self.table(for: param.type)
                let column: String
                switch param.type {
                case .date: column = key.descending ? "MAX(s.high)" : "MIN(s.low)"
                case .token: column = key.descending ? "MAX(s.code)" : "MIN(s.code)"
                case .reference: column = key.descending ? "MAX(s.target_id)" : "MIN(s.target_id)"
                case .string, .uri, .number, .quantity: column = key.descending ? "MAX(s.value)" : "MIN(s.value)"
                case .composite, .special: throw FHIRError(.badRequest, code: "not-supported", "Cannot sort by '\(key.name)'")
                }
                let sub: SQLQueryString =
                    "(SELECT \(unsafeRaw: column) FROM \(unsafeRaw: table) s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.param = \(bind: param.code))"
                // Resources without a value sort last in both directions, on both databases.
                terms.append("CASE WHEN " + sub + " IS NULL THEN 1 ELSE 0 END, " + sub + " \(unsafeRaw: dir)")
            }
        }
        if request.sort.isEmpty { terms.append("r.last_updated DESC") }
        terms.append("r.res_id ASC")
        var out: SQLQueryString = ""
        for (i, t) in terms.enumerated() { out += i == 0 ? t : ", " + t }
        return out
    }
}
