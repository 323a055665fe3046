import Foundation
import Synchronization

/// The web application firewall: IP allow and deny lists, then rules over the decoded request
/// (path, query, body, headers, user agent). A rule blocks, counts (logs and counts, lets the
/// request through) or allows (lets it through without looking further). Every match is counted
/// by rule id.
package final class WAF: Sendable {
    package enum Action: String, Sendable, Codable { case block, count, allow }

    package struct Rule: Sendable, Equatable, Codable {
        package let id: String
        package let group: String
        package let action: Action
        /// Literal patterns (case-insensitive) in the decoded text.
        package let patterns: [String]
        /// What the rule looks at.
        package let targets: Set<Target>

        package init(id: String, group: String, action: Action, patterns: [String], targets: Set<Target>) {
            self.id = id
            self.group = group
            self.action = action
            self.patterns = patterns
            self.targets = targets
        }
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
        /// Size limits by path prefix (the longest matching prefix applies).
        package var routeLimits: [RouteLimit] = RouteLimit.defaults
        /// Site rules, after the built-in ones (from the WAF file or the admin API).
        package var customRules: [Rule] = []
        package var geo = GeoPolicy()
        package init() {}

        /// The limits for a path.
        package func limits(for path: String) -> RouteLimit {
            routeLimits.filter { path.hasPrefix($0.prefix) }.max { $0.prefix.count < $1.prefix.count }
                ?? RouteLimit(prefix: "/", maxBodyBytes: 1 << 20, maxHeaderBytes: maxHeaderBytes)
        }
    }

    /// Body and header size limits of the routes under a path prefix.
    package struct RouteLimit: Sendable, Equatable, Codable {
        package var prefix: String
        package var maxBodyBytes: Int
        package var maxHeaderBytes: Int

        package init(prefix: String, maxBodyBytes: Int, maxHeaderBytes: Int = 16 * 1024) {
            self.prefix = prefix
            self.maxBodyBytes = maxBodyBytes
            self.maxHeaderBytes = maxHeaderBytes
        }

        /// FHIR transaction bundles of a whole patient record are large; so are messages with
        /// an attachment, images and audio for the AI services, and dictations; sign-in forms and
        /// the token endpoint are small; everything else gets 1 MB.
        package static let defaults: [RouteLimit] = [
            RouteLimit(prefix: "/", maxBodyBytes: 1 << 20),
            RouteLimit(prefix: "/fhir", maxBodyBytes: 64 << 20),
            RouteLimit(prefix: "/login", maxBodyBytes: 16 << 10, maxHeaderBytes: 8 << 10),
            RouteLimit(prefix: "/oauth", maxBodyBytes: 16 << 10, maxHeaderBytes: 8 << 10),
            RouteLimit(prefix: "/api", maxBodyBytes: 1 << 20),
            RouteLimit(prefix: "/portal/messages", maxBodyBytes: 16 << 20),
            RouteLimit(prefix: "/console/inbox", maxBodyBytes: 16 << 20),
            // the AI services' uploads, a little over their own defaults (20 MB images, 25 MB
            // audio: HEALTHHUB_AI_IMAGE_MB and HEALTHHUB_AI_AUDIO_MB, which the handlers hold to);
            // raising those needs these raised in the WAF file too
            RouteLimit(prefix: "/api/v1/ocr", maxBodyBytes: 21 << 20),
            RouteLimit(prefix: "/api/v1/transcriptions", maxBodyBytes: 26 << 20),
            // a dictation or a scanned document added to a patient's chart
            RouteLimit(prefix: "/console/patients", maxBodyBytes: 26 << 20),
        ]
    }

    /// The geo allow-list (the original system allowed the UK, Ireland and the US).
    package struct GeoPolicy: Sendable, Equatable, Codable {
        package var enabled = true
        /// ISO 3166-1 alpha-2 codes.
        package var allow: [String] = ["GB", "IE", "US"]
        /// Clients whose country is not known (not in the database, no proxy header): `allow`
        /// (as CloudFront's geo restriction does) or `block`. Private and loopback addresses are
        /// never geo-checked.
        package var unknown: Action = .allow
        /// The header a trusted proxy sets with the viewer's country; believed only from one.
        package var header = "CloudFront-Viewer-Country"
        /// A MaxMind-format country database (GeoLite2-Country.mmdb or compatible).
        package var database: String?
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

    package let configuration: Configuration
    let rules: [Rule]
    private let allowedCountries: Set<String>
    let sets: [Target: (PatternSet, [(rule: Int, pattern: Int)])]
    private let counters = Mutex<[String: Int]>([:])

    package init(configuration: Configuration, rules: [Rule] = WAFRules.builtIn) {
        self.configuration = configuration
        allowedCountries = Set(configuration.geo.allow.map { $0.uppercased() })
        self.rules = (rules + configuration.customRules).map { r in
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
        /// ISO code of the client's country, when known.
        package var country: String?

        package init(
            client: String?, path: String, query: String, userAgent: String = "", headerBytes: Int = 0, headerValues: [String] = [],
            body: [UInt8] = [], country: String? = nil
        ) {
            self.client = client
            self.country = country
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
            if configuration.geo.enabled, !IPRange.isInternal(client) {
                if let country = r.country {
                    if !allowedCountries.contains(country) { return matched("geo-deny", .block) }
                } else if configuration.geo.unknown == .block {
                    return matched("geo-unknown", .block)
                }
            }
        }
        // Protocol rules.
        if r.headerBytes > configuration.limits(for: r.path).maxHeaderBytes { return matched("protocol-header-size", .block) }
        let pairs = r.query.split(separator: "&")
        if pairs.count > configuration.maxQueryParameters { return matched("protocol-too-many-parameters", .block) }
        guard let path = Self.decode(r.path), let query = Self.decode(r.query) else { return matched("protocol-invalid-encoding", .block) }
        if path.utf8.contains(0) || query.utf8.contains(0) { return matched("protocol-null-byte", .block) }
        var counted: Verdict?
        let paths = Self.layers(path)
        var queries = Self.layers(query)
        // SQL comments and runs of whitespace (`'/**/OR/**/1=1--`, tabs) read as one space.
        if let squeezed = Self.squeezingSQLSpace(queries.last!) { queries.append(squeezed) }
        for (target, texts) in [
            (Target.path, paths), (.query, queries),
            (.userAgent, Self.layers(r.userAgent, decoding: false)), (.headers, r.headerValues.flatMap { Self.layers($0, decoding: false) }),
        ] {
            for text in texts where !text.isEmpty {
                if let v = check(target, text.utf8) {
                    if v.action == .count { counted = counted ?? v } else { return v }
                }
            }
        }
        if !r.body.isEmpty {
            // the same scanner the gateway runs over streamed bodies
            var scanner = BodyScanner(waf: self)
            if let v = scanner.feed(r.body) { return v }
            counted = counted ?? scanner.countedMatch
        }
        return counted ?? Verdict(action: .allow, rule: nil)
    }

    /// The strongest rule among every match in the text — allow (site exceptions, paths only),
    /// then block, then count — so a counted pattern early in the text never hides a blocking
    /// one after it.
    func check(_ target: Target, _ bytes: some Sequence<UInt8>) -> Verdict? {
        guard let (set, owners) = sets[target] else { return nil }
        var best: Rule?
        set.forEachMatch(in: bytes) { hit in
            let rule = rules[owners[hit].rule]
            if Self.strength(rule.action) > best.map({ Self.strength($0.action) }) ?? -1 { best = rule }
            return rule.action != .allow
        }
        return best.map { matched($0.id, $0.action) }
    }

    static func strength(_ action: Action) -> Int {
        switch action {
        case .count: 0
        case .block: 1
        case .allow: 2
        }
    }

    func matched(_ rule: String, _ action: Action) -> Verdict {
        record(rule)
        return Verdict(action: action, rule: rule)
    }

    /// The text and what it reads as once the layers an evasion hides behind are taken off:
    /// percent-encoding again (double, triple, quadruple encoding: `%2525252e`; at most five
    /// rounds in all), then Unicode compatibility forms folded (NFKC: full-width `＇ＯＲ　１＝１`, no-break
    /// spaces and ligatures read as their ASCII selves). Each distinct text is matched.
    static func layers(_ text: String, decoding: Bool = true) -> [String] {
        var out = [text]
        var t = text
        if decoding {
            for _ in 0..<4 {
                guard let d = decode(t), d != t else { break }
                t = d
                out.append(t)
            }
        }
        if t.utf8.contains(where: { $0 >= 0x80 }) {
            let folded = t.precomposedStringWithCompatibilityMapping
            if folded != t { out.append(folded) }
        }
        return out
    }

    /// The text with every `/*...*/` comment and every run of whitespace (tabs, line breaks)
    /// replaced by one space, or nil when that changes nothing.
    static func squeezingSQLSpace(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0x20 }) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        func space() { if out.last != 0x20 { out.append(0x20) } }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "/"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "*") {
                var j = i + 2
                while j + 1 < bytes.count, !(bytes[j] == UInt8(ascii: "*") && bytes[j + 1] == UInt8(ascii: "/")) { j += 1 }
                i = min(j + 2, bytes.count)
                space()
            } else if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C {
                space()
                i += 1
            } else {
                out.append(b)
                i += 1
            }
        }
        let squeezed = String(decoding: out, as: UTF8.self)
        return squeezed == text ? nil : squeezed
    }

    /// Percent- and plus-decoding; nil for malformed escapes or invalid UTF-8.
    static func decode(_ text: String) -> String? {
        guard text.utf8.contains(where: { $0 == 0x25 || $0 == 0x2B }) else { return text }
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
