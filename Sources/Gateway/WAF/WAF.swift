import Foundation
import Synchronization

/// The web application firewall: IP allow and deny lists, then rules over the decoded request
/// (path, query, body, headers, user agent). A rule blocks, counts (logs and counts, lets the
/// request through) or allows (lets it through without looking further). Every match is counted
/// by rule id.
package final class WAF: Sendable {
    package enum Action: String, Sendable, Codable { case block, count, allow }

    package struct Rule: Sendable, Equatable {
        package let id: String
        package let group: String
        package let action: Action
        /// Literal patterns (case-insensitive) in the decoded text.
        package let patterns: [String]
        /// What the rule looks at.
        package let targets: Set<Target>
    }

    package enum Target: String, Sendable, Codable, CaseIterable { case path, query, body, userAgent, headers }

    package struct Configuration: Sendable, Equatable {
        package var enabled = true
        package var allow: [IPRange] = []
        package var deny: [IPRange] = []
        /// Per rule id: a different action than the built-in one (e.g. `count` while tuning).
        package var overrides: [String: Action] = [:]
        package var maxQueryParameters = 100
        package var maxHeaderBytes = 16 * 1024
        package init() {}
    }

    package struct Verdict: Sendable, Equatable {
        package let action: Action
        package let rule: String?

        package init(action: Action, rule: String?) {
            self.action = action
            self.rule = rule
        }
    }

    let configuration: Configuration
    let rules: [Rule]
    private let sets: [Target: (PatternSet, [(rule: Int, pattern: Int)])]
    private let counters = Mutex<[String: Int]>([:])

    package init(configuration: Configuration, rules: [Rule] = WAFRules.builtIn) {
        self.configuration = configuration
        self.rules = rules.map { r in
            Rule(id: r.id, group: r.group, action: configuration.overrides[r.id] ?? r.action, patterns: r.patterns, targets: r.targets)
        }
        var sets: [Target: (PatternSet, [(Int, Int)])] = [:]
        for target in Target.allCases {
            var patterns: [String] = []
            var owners: [(Int, Int)] = []
            for (ri, rule) in self.rules.enumerated() where rule.targets.contains(target) {
                for (pi, p) in rule.patterns.enumerated() {
                    patterns.append(p)
                    owners.append((ri, pi))
                }
            }
            sets[target] = (PatternSet(patterns), owners)
        }
        self.sets = sets
    }

    /// How often each rule matched (blocks and counts) since start.
    package var matches: [String: Int] { counters.withLock { $0 } }

    func record(_ rule: String) { counters.withLock { $0[rule, default: 0] += 1 } }

    /// The request as the WAF sees it.
    package struct Inspection: Sendable {
        package var client: String?
        package var path: String
        package var query: String
        package var userAgent: String
        package var headerBytes: Int
        package var headerValues: [String]
        package var body: [UInt8]

        package init(client: String?, path: String, query: String, userAgent: String = "", headerBytes: Int = 0, headerValues: [String] = [], body: [UInt8] = []) {
            self.client = client
            self.path = path
            self.query = query
            self.userAgent = userAgent
            self.headerBytes = headerBytes
            self.headerValues = headerValues
            self.body = body
        }
    }

    package func inspect(_ r: Inspection) -> Verdict {
        guard configuration.enabled else { return Verdict(action: .allow, rule: nil) }
        if let client = r.client {
            if configuration.deny.contains(where: { $0.contains(client) }) { return matched("ip-deny", .block) }
            if configuration.allow.contains(where: { $0.contains(client) }) { return Verdict(action: .allow, rule: "ip-allow") }
        }
        // Protocol rules.
        if r.headerBytes > configuration.maxHeaderBytes { return matched("protocol-header-size", .block) }
        let pairs = r.query.split(separator: "&")
        if pairs.count > configuration.maxQueryParameters { return matched("protocol-too-many-parameters", .block) }
        guard let path = Self.decode(r.path), let query = Self.decode(r.query) else { return matched("protocol-invalid-encoding", .block) }
        if path.utf8.contains(0) || query.utf8.contains(0) { return matched("protocol-null-byte", .block) }
        // Double encoding (`%252e%252e%252f`) is decoded once more before matching.
        let query2 = Self.decode(query) ?? query
        let path2 = Self.decode(path) ?? path
        var counted: Verdict?
        for (target, texts) in [(Target.path, path2 == path ? [path] : [path, path2]), (.query, query2 == query ? [query] : [query, query2]),
                                (.userAgent, [r.userAgent]), (.headers, r.headerValues)] {
            for text in texts where !text.isEmpty {
                if let v = check(target, text.utf8) {
                    if v.action == .count { counted = counted ?? v } else { return v }
                }
            }
        }
        if !r.body.isEmpty, let v = check(.body, r.body) {
            if v.action == .count { counted = counted ?? v } else { return v }
        }
        return counted ?? Verdict(action: .allow, rule: nil)
    }

    func check(_ target: Target, _ bytes: some Sequence<UInt8>) -> Verdict? {
        guard let (set, owners) = sets[target], let hit = set.firstMatch(in: bytes) else { return nil }
        let rule = rules[owners[hit].rule]
        return matched(rule.id, rule.action)
    }

    func matched(_ rule: String, _ action: Action) -> Verdict {
        record(rule)
        return Verdict(action: action, rule: rule)
    }

    /// Percent- and plus-decoding; nil for malformed escapes or invalid UTF-8.
    static func decode(_ text: String) -> String? {
        guard text.contains("%") || text.contains("+") else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = Array(text.utf8)[...]
        while let b = it.popFirst() {
            if b == 0x25 {
                guard it.count >= 2, let hi = hex(it[it.startIndex]), let lo = hex(it[it.startIndex + 1]) else { return nil }
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else {
                bytes.append(b == 0x2B ? 0x20 : b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}
