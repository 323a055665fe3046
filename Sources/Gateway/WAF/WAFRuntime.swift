import Foundation
import Kernel
import Synchronization

/// The WAF in force, replaceable while the server runs: from the settings given at start plus
/// the WAF file (`HEALTHHUB_WAF_FILE`, JSON), re-read on SIGHUP and through the admin API. A
/// file with problems never replaces a working WAF: every problem is reported and the old one
/// stays. The geo database is re-read with the file, so a monthly GeoLite update is a reload.
package final class WAFRuntime: Sendable {
    /// The settings from flags and environment, which the file refines.
    package let base: WAF.Configuration
    package let file: String?
    private let state: Mutex<(waf: WAF, geo: MMDBReader?)>
    /// One reload or replacement at a time, so the file and the WAF in force never disagree.
    private let changing = Mutex<Void>(())

    package init(base: WAF.Configuration, file: String?) throws(WAFConfigError) {
        self.base = base
        self.file = file
        let configuration = try Self.read(file, over: base)
        state = Mutex((WAF(configuration: configuration), try Self.geoDatabase(configuration)))
    }

    package var waf: WAF { state.withLock { $0.waf } }
    package var geo: MMDBReader? { state.withLock { $0.geo } }
    /// Both at once (a reload between two reads could pair a new WAF with the old database).
    package var current: (waf: WAF, geo: MMDBReader?) { state.withLock { $0 } }

    /// Re-reads the file (and the geo database) and swaps them in; throws, keeping the current
    /// WAF, when anything is wrong.
    @discardableResult
    package func reload() throws(WAFConfigError) -> WAF.Configuration {
        try changing.withLock { _ throws(WAFConfigError) in
            let configuration = try Self.read(file, over: base)
            let built = (WAF(configuration: configuration), try Self.geoDatabase(configuration))
            state.withLock { $0 = built }
            return configuration
        }
    }

    /// Validates a WAF document, builds it, writes it to the WAF file when one is configured
    /// (atomically, so the next start and reload keep it) and only then applies it. The geo
    /// database path cannot be changed this way (it names a file on the server: the WAF file
    /// or the environment set it). Returns whether it was written.
    package func replace(with document: Data) throws(WAFConfigError) -> Bool {
        try changing.withLock { _ throws(WAFConfigError) in
            let configuration = try WAFConfigDocument.parse(document, over: base)
            let inForce = state.withLock { $0 }
            guard configuration.geo.database == inForce.waf.configuration.geo.database else {
                throw .invalid(["geo.database can only be changed in the WAF file or HEALTHHUB_GEO_DATABASE"])
            }
            let built = (WAF(configuration: configuration), try Self.geoDatabase(configuration))
            if let file {
                do {
                    try document.write(to: URL(fileURLWithPath: file), options: .atomic)
                } catch {
                    throw .invalid(["cannot write \(file): \(error.localizedDescription)"])
                }
            }
            state.withLock { $0 = built }
            return file != nil
        }
    }

    static func read(_ file: String?, over base: WAF.Configuration) throws(WAFConfigError) -> WAF.Configuration {
        guard let file else { return base }
        guard let data = FileManager.default.contents(atPath: file) else { throw .invalid(["cannot read WAF file \(file)"]) }
        return try WAFConfigDocument.parse(data, over: base)
    }

    /// Country databases are a few MB (GeoLite2-Country ~10 MB); anything far larger is refused.
    static let maximumGeoDatabaseBytes = 256 << 20

    static func geoDatabase(_ configuration: WAF.Configuration) throws(WAFConfigError) -> MMDBReader? {
        guard configuration.geo.enabled, let path = configuration.geo.database else { return nil }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else { throw .invalid(["geo database \(path): not a regular file"]) }
        guard let size = (attributes?[.size] as? NSNumber)?.intValue, size <= maximumGeoDatabaseBytes else {
            throw .invalid(["geo database \(path): larger than \(maximumGeoDatabaseBytes >> 20) MB"])
        }
        do {
            return try MMDBReader(path: path)
        } catch {
            throw .invalid(["geo database \(path): \(error)"])
        }
    }
}

package enum WAFConfigError: Error, Equatable, CustomStringConvertible {
    case invalid([String])

    package var problems: [String] {
        switch self {
        case .invalid(let p): p
        }
    }

    package var description: String { "WAF configuration problems:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
}

/// The WAF file and admin API document. Every key is optional; what is absent keeps the value
/// from the start-up settings:
///
/// ```json
/// { "enabled": true,
///   "allow": ["10.20.0.0/16"], "deny": ["203.0.113.0/24", "2001:db8:bad::/48"],
///   "overrides": { "sqli-union": "count" },
///   "rules": [ { "id": "site-wp-probe", "group": "site", "action": "block",
///                "patterns": ["/wp-admin", "/xmlrpc.php"], "targets": ["path"] } ],
///   "geo": { "enabled": true, "allow": ["GB", "IE", "US"], "unknown": "allow",
///            "header": "CloudFront-Viewer-Country", "database": "/var/lib/geoip/GeoLite2-Country.mmdb" },
///   "limits": { "maxQueryParameters": 100,
///               "routes": [ { "prefix": "/fhir", "maxBodyBytes": 67108864, "maxHeaderBytes": 16384 } ] } }
/// ```
package struct WAFConfigDocument: Codable, Sendable {
    var enabled: Bool?
    var allow: [String]?
    var deny: [String]?
    var overrides: [String: WAF.Action]?
    var rules: [WAF.Rule]?
    var geo: Geo?
    var limits: Limits?

    struct Geo: Codable, Sendable {
        var enabled: Bool?
        var allow: [String]?
        var unknown: WAF.Action?
        var header: String?
        var database: String?
    }

    struct Limits: Codable, Sendable {
        var maxQueryParameters: Int?
        var routes: [WAF.RouteLimit]?
    }

    /// The configuration a document describes over `base`; every problem at once.
    package static func parse(_ data: Data, over base: WAF.Configuration) throws(WAFConfigError) -> WAF.Configuration {
        let doc: WAFConfigDocument
        do {
            doc = try JSONDecoder().decode(WAFConfigDocument.self, from: data)
        } catch {
            throw .invalid(["not a WAF document: \(Self.describe(error))"])
        }
        var problems: [String] = []
        var c = base
        c.enabled = doc.enabled ?? c.enabled
        func ranges(_ list: [String]?, _ name: String) -> [IPRange]? {
            list.map {
                $0.compactMap { s in
                    guard let r = IPRange(s) else { problems.append("\(name): '\(s.prefix(60))' is not an address or CIDR block"); return nil }
                    return r
                }
            }
        }
        c.allow = ranges(doc.allow, "allow") ?? c.allow
        c.deny = ranges(doc.deny, "deny") ?? c.deny
        let builtIn = Set(WAFRules.builtIn.map(\.id))
        var custom: Set<String> = []
        for rule in doc.rules ?? [] {
            if builtIn.contains(rule.id) || !custom.insert(rule.id).inserted { problems.append("rules: id '\(rule.id)' is used twice or by a built-in rule") }
            if rule.patterns.isEmpty || rule.patterns.contains(where: { $0.count < 3 }) { problems.append("rules: '\(rule.id)' needs patterns of 3 or more characters") }
            if rule.targets.isEmpty { problems.append("rules: '\(rule.id)' needs at least one target") }
            if rule.action == .allow && rule.targets != [.path] {
                problems.append("rules: '\(rule.id)' allows requests, so it may only look at the path (the rest is the client's to choose)")
            }
        }
        c.customRules = doc.rules ?? c.customRules
        let targets = Dictionary((WAFRules.builtIn + (doc.rules ?? [])).map { ($0.id, $0.targets) }, uniquingKeysWith: { a, _ in a })
        for (id, action) in doc.overrides ?? [:] {
            guard let ruleTargets = targets[id] else { problems.append("overrides: no rule '\(id)'"); continue }
            if action == .allow && ruleTargets != [.path] { problems.append("overrides: '\(id)' looks beyond the path, so it can be block or count, not allow") }
            c.overrides[id] = action
        }
        if let geo = doc.geo {
            c.geo.enabled = geo.enabled ?? c.geo.enabled
            c.geo.allow = geo.allow ?? c.geo.allow
            c.geo.unknown = geo.unknown ?? c.geo.unknown
            c.geo.header = geo.header ?? c.geo.header
            c.geo.database = geo.database ?? c.geo.database
            for code in c.geo.allow where code.count != 2 || !code.allSatisfy({ $0.isASCII && $0.isLetter }) {
                problems.append("geo.allow: '\(code.prefix(10))' is not an ISO 3166-1 alpha-2 code")
            }
            if c.geo.unknown == .count { problems.append("geo.unknown must be allow or block") }
        }
        if let limits = doc.limits {
            c.maxQueryParameters = limits.maxQueryParameters ?? c.maxQueryParameters
            if let routes = limits.routes {
                for r in routes where !r.prefix.hasPrefix("/") || r.maxBodyBytes < 0 || r.maxHeaderBytes < 1024 {
                    problems.append("limits.routes: '\(r.prefix)' needs a prefix starting with / , maxBodyBytes >= 0 and maxHeaderBytes >= 1024")
                }
                // Listed routes replace the defaults of the same prefix; the others stay.
                c.routeLimits = c.routeLimits.filter { d in !routes.contains { $0.prefix == d.prefix } } + routes
            }
        }
        if !problems.isEmpty { throw .invalid(problems) }
        return c
    }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "invalid JSON" }
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            let path = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return "\(path.isEmpty ? "document" : String(path.dropFirst())): \(c.debugDescription)"
        @unknown default:
            return "invalid JSON"
        }
    }

    /// The document of a configuration (what `GET /api/waf` shows).
    package static func document(of c: WAF.Configuration) -> JSON {
        let doc = WAFConfigDocument(
            enabled: c.enabled, allow: c.allow.map(\.description), deny: c.deny.map(\.description), overrides: c.overrides,
            rules: c.customRules, geo: Geo(enabled: c.geo.enabled, allow: c.geo.allow, unknown: c.geo.unknown, header: c.geo.header, database: c.geo.database),
            limits: Limits(maxQueryParameters: c.maxQueryParameters, routes: c.routeLimits))
        // Every number in it is an integer, so encoding cannot fail.
        return (try? JSON(encoding: doc)) ?? [:]
    }
}
