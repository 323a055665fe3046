import Foundation
import HTTPTypes

/// A parsed FHIR search: the AND-list of parameter clauses (each an OR-list of values) plus the
/// result parameters. Parsing needs no database; unknown parameters become warnings (or errors
/// under `Prefer: handling=strict`).
package struct SearchRequest: Sendable {
    package struct Clause: Sendable {
        package var name: String
        package var parameter: SearchParameterRegistry.Parameter?
        package var modifier: String?
        /// For chained parameters (`subject:Patient.name=x`): the parameter on the target type.
        package var chain: [String] = []
        package var values: [String]
    }
    package enum TotalMode: String, Sendable { case none, estimate, accurate }
    package enum SummaryMode: String, Sendable { case `true`, text, data, count, `false` }
    package struct SortKey: Sendable { package var name: String; package var descending: Bool }
    package struct Include: Sendable {
        package var sourceType: String
        package var param: String  // "*" for all reference params
        package var targetType: String?
        package var iterate: Bool
        package var reverse: Bool
    }

    package var type: String
    package var clauses: [Clause] = []
    package var count: Int = 20
    package var offset: Int = 0
    package var sort: [SortKey] = []
    /// nil: the total is given when it comes free (the result fits in the page), not counted.
    package var total: TotalMode?
    package var summary: SummaryMode?
    package var elements: [String]?
    package var includes: [Include] = []
    package var warnings: [OutcomeIssue] = []
    /// Parameters as given, for the `self` link (result parameters recomputed per page).
    package var linkParameters: [(String, String)] = []

    package static let maxCount = 1000
    /// Pages start at most this far in (deeper paging is a narrower search); it also keeps
    /// `offset + count` far from overflowing.
    package static let maxOffset = 1_000_000

    /// `_count` and `_offset` of searches and histories: 0 to `maxOffset`, else a 400.
    package static func paging(_ name: String, _ value: String) throws(FHIRError) -> Int {
        guard let n = Int(value), n >= 0 else { throw .invalid("\(name) must be a non-negative integer") }
        guard n <= maxOffset else { throw .invalid("\(name) must be at most \(maxOffset); narrow the search instead of paging that deep") }
        return n
    }
    /// At most this many parameters in one search, from the URL and a form body together (the
    /// WAF holds the URL alone to the same number).
    package static let maxParameters = 100
    /// At most this many comma-separated values of one parameter.
    package static let maxValues = 500
    /// And at most this many over all parameters (a few bound values each).
    package static let maxTotalValues = 2000
    static let resultParameters: Set<String> = ["_count", "_offset", "_sort", "_total", "_summary", "_elements", "_include", "_revinclude", "_format", "_pretty"]

    /// Parses decoded query pairs.
    package init(type: String, pairs: [(String, String)], registry: SearchParameterRegistry, strict: Bool) throws(FHIRError) {
        self.type = type
        guard pairs.count <= Self.maxParameters else {
            throw FHIRError(.badRequest, code: "too-costly", "A search takes at most \(Self.maxParameters) parameters")
        }
        for (rawName, value) in pairs {
            // No FHIR value holds a NUL, and PostgreSQL text cannot: refused, not passed on.
            guard !rawName.utf8.contains(0), !value.utf8.contains(0) else {
                throw FHIRError.invalid("Search parameters and values must not contain NUL characters")
            }
            let name = rawName
            let baseName = String(name.split(separator: ":", maxSplits: 1).first ?? "")
            if Self.resultParameters.contains(baseName) || baseName.hasPrefix("_include") || baseName.hasPrefix("_revinclude") {
                try applyResultParameter(name: name, value: value)
                continue
            }
            linkParameters.append((name, value))
            // name[:modifier][.chain...]
            var head = name
            var chain: [String] = []
            if let dot = name.firstIndex(of: ".") {
                head = String(name[..<dot])
                chain = name[name.index(after: dot)...].split(separator: ".").map(String.init)
            }
            var code = head
            var modifier: String?
            if let colon = head.firstIndex(of: ":") {
                code = String(head[..<colon])
                modifier = String(head[head.index(after: colon)...])
            }
            guard let parameter = registry.parameter(code, for: type), registry.isSupported(parameter) else {
                let message =
                    registry.parameter(code, for: type) == nil
                    ? "Unknown search parameter '\(code.prefix(64))' for \(type)"
                    : "Search parameter '\(code)' is not supported"
                if strict { throw FHIRError(.badRequest, code: "not-supported", message) }
                warnings.append(OutcomeIssue(.warning, "not-supported", message + "; it was ignored"))
                linkParameters.removeLast()
                continue
            }
            if !chain.isEmpty && parameter.type != .reference {
                throw FHIRError(.badRequest, code: "invalid", "Parameter '\(code)' is not a reference and cannot be chained")
            }
            let values = Self.splitOr(value)
            guard values.count <= Self.maxValues else {
                throw FHIRError(.badRequest, code: "too-costly", "Search parameter '\(code)' takes at most \(Self.maxValues) comma-separated values")
            }
            guard !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) || modifier == "missing" else {
                throw FHIRError(.badRequest, code: "invalid", "Empty value for search parameter '\(code)'")
            }
            clauses.append(Clause(name: name, parameter: parameter, modifier: modifier, chain: chain, values: values))
        }
        guard clauses.reduce(0, { $0 + $1.values.count }) <= Self.maxTotalValues else {
            throw FHIRError(.badRequest, code: "too-costly", "A search takes at most \(Self.maxTotalValues) values over all its parameters")
        }
    }

    private mutating func applyResultParameter(name: String, value: String) throws(FHIRError) {
        switch name {
        case "_count":
            count = min(try Self.paging("_count", value), Self.maxCount)
        case "_offset":
            offset = try Self.paging("_offset", value)
        case "_sort":
            sort = value.split(separator: ",").map { key in
                key.hasPrefix("-") ? SortKey(name: String(key.dropFirst()), descending: true) : SortKey(name: String(key), descending: false)
            }
        case "_total":
            guard let mode = TotalMode(rawValue: value) else { throw .invalid("_total must be none, estimate or accurate") }
            total = mode
        case "_summary":
            guard let mode = SummaryMode(rawValue: value) else { throw .invalid("_summary must be true, text, data, count or false") }
            summary = mode
        case "_elements":
            elements = value.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        case "_format", "_pretty":
            break
        default:
            // _include, _revinclude, with optional :iterate / :recurse
            let reverse = name.hasPrefix("_revinclude")
            let iterate = name.hasSuffix(":iterate") || name.hasSuffix(":recurse")
            let parts = value.split(separator: ":").map(String.init)
            guard parts.count >= 2 || value == "*" else {
                throw .invalid("\(reverse ? "_revinclude" : "_include") must be Type:param[:targetType]")
            }
            if value == "*" {
                includes.append(Include(sourceType: type, param: "*", targetType: nil, iterate: iterate, reverse: reverse))
            } else {
                includes.append(Include(sourceType: parts[0], param: parts[1], targetType: parts.count > 2 ? parts[2] : nil, iterate: iterate, reverse: reverse))
            }
        }
        linkParameters.append((name, value))
    }

    /// Splits on commas that are not escaped with a backslash, and unescapes `\,` `\|` `\$` `\\`.
    static func splitOr(_ value: String) -> [String] {
        var out: [String] = []
        var current = ""
        var escaped = false
        for ch in value {
            if escaped { current.append(ch); escaped = false; continue }
            if ch == "\\" { escaped = true; continue }
            if ch == "," { out.append(current); current = ""; continue }
            current.append(ch)
        }
        out.append(current)
        return out
    }
}
