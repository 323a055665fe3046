import Foundation
import Kernel

/// The gateway's part of the configuration, read and checked here (so the gateway's tests build
/// one the way `serve` does): rate limits, the WAF and its geo rules, trusted proxies, CORS.
package struct GatewayConfiguration: Sendable {
    package var rateLimits = RateLimiter.Configuration()
    package var waf = WAF.Configuration()
    /// JSON file refining the WAF settings, re-read on SIGHUP (`HEALTHHUB_WAF_FILE`).
    package var wafFile: String?
    /// Origins of browser apps allowed to call the API (CORS); none by default.
    package var corsOrigins: [String] = []
    /// Peers whose `X-Forwarded-For` is believed (load balancers, reverse proxies).
    package var trustedProxies: [IPRange] = []

    package init() {}

    /// Reads the gateway settings; returns the problems found (empty: all good).
    ///
    /// Rate limits: `HEALTHHUB_RATE_LIMITS=on|off` (or the `--rate-limits` flag), budgets
    /// `HEALTHHUB_RATE_LIMIT_IP`, `_USER`, `_CLIENT`, `_SIGNIN` as CAPACITY/PER_SECOND, costs
    /// `HEALTHHUB_RATE_LIMIT_COSTS` (interaction=cost pairs).
    ///
    /// WAF: `HEALTHHUB_WAF=on|off`, `HEALTHHUB_WAF_ALLOW` / `HEALTHHUB_WAF_DENY`
    /// (comma-separated addresses or CIDR blocks, IPv4 or IPv6), `HEALTHHUB_TRUSTED_PROXIES` (same
    /// form), `HEALTHHUB_WAF_RULES` (`rule-id=block|count|allow,...` to change a built-in rule's
    /// action), `HEALTHHUB_WAF_FILE` (JSON refining all of it, re-read on SIGHUP) and the geo
    /// allow-list: `HEALTHHUB_GEO=on|off`, `HEALTHHUB_GEO_ALLOW` (default GB,IE,US),
    /// `HEALTHHUB_GEO_DATABASE` (.mmdb), `HEALTHHUB_GEO_UNKNOWN=allow|block`, `HEALTHHUB_GEO_HEADER`
    /// (default CloudFront-Viewer-Country); CORS: `HEALTHHUB_CORS_ORIGINS`.
    package mutating func read(_ settings: Settings, rateLimitsFlag: String? = nil) -> [String] {
        var problems: [String] = []
        switch settings.value(rateLimitsFlag, "RATE_LIMITS") {
        case nil, "on": rateLimits.enabled = true
        case "off": rateLimits.enabled = false
        default: problems.append("rate limits must be on or off")
        }
        func budget(_ name: String, _ keyPath: WritableKeyPath<RateLimiter.Configuration, RateLimiter.Budget>) {
            guard let text = settings.value(nil, "RATE_LIMIT_\(name)") else { return }
            let parts = text.split(separator: "/").compactMap { Double($0) }
            guard parts.count == 2, parts[0] >= 1, parts[1] >= 0 else {
                problems.append("HEALTHHUB_RATE_LIMIT_\(name) must be CAPACITY/PER_SECOND, e.g. 3000/1000")
                return
            }
            rateLimits[keyPath: keyPath] = .init(capacity: parts[0], perSecond: parts[1])
        }
        budget("IP", \.ip)
        budget("USER", \.user)
        budget("CLIENT", \.client)
        budget("SIGNIN", \.authentication)
        if let text = settings.value(nil, "RATE_LIMIT_COSTS") {
            for pair in text.split(separator: ",") {
                let kv = pair.split(separator: "=")
                guard kv.count == 2, let interaction = RateLimiter.Interaction(rawValue: String(kv[0])), let cost = Double(kv[1]), cost >= 0 else {
                    problems.append("HEALTHHUB_RATE_LIMIT_COSTS takes interaction=cost pairs (read, search, create, write, history, export, other)")
                    continue
                }
                rateLimits.costs[interaction] = cost
            }
        }
        switch settings.value(nil, "WAF") {
        case nil, "on": waf.enabled = true
        case "off": waf.enabled = false
        default: problems.append("HEALTHHUB_WAF must be on or off")
        }
        func ranges(_ name: String) -> [IPRange] {
            guard let text = settings.value(nil, name) else { return [] }
            return text.split(separator: ",").compactMap { item in
                let s = item.trimmingCharacters(in: .whitespaces)
                guard let r = IPRange(s) else {
                    problems.append("HEALTHHUB_\(name): '\(s.prefix(60))' is not an address or CIDR block")
                    return nil
                }
                return r
            }
        }
        waf.allow = ranges("WAF_ALLOW")
        waf.deny = ranges("WAF_DENY")
        trustedProxies = ranges("TRUSTED_PROXIES")
        corsOrigins = (settings.value(nil, "CORS_ORIGINS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for origin in corsOrigins where !(origin.hasPrefix("https://") || origin.hasPrefix("http://")) {
            problems.append("HEALTHHUB_CORS_ORIGINS: '\(origin.prefix(60))' is not an origin (https://app.example.org)")
        }
        switch settings.value(nil, "GEO") {
        case nil, "on": waf.geo.enabled = true
        case "off": waf.geo.enabled = false
        default: problems.append("HEALTHHUB_GEO must be on or off")
        }
        if let allow = settings.value(nil, "GEO_ALLOW") {
            waf.geo.allow = allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            for code in waf.geo.allow where code.count != 2 || !code.allSatisfy({ $0.isASCII && $0.isLetter }) {
                problems.append("HEALTHHUB_GEO_ALLOW: '\(code.prefix(10))' is not an ISO 3166-1 alpha-2 code")
            }
        }
        switch settings.value(nil, "GEO_UNKNOWN") {
        case nil, "allow": waf.geo.unknown = .allow
        case "block": waf.geo.unknown = .block
        default: problems.append("HEALTHHUB_GEO_UNKNOWN must be allow or block")
        }
        waf.geo.database = settings.value(nil, "GEO_DATABASE")
        waf.geo.header = settings.value(nil, "GEO_HEADER") ?? waf.geo.header
        wafFile = settings.value(nil, "WAF_FILE")
        if let text = settings.value(nil, "WAF_RULES") {
            let known = Set(WAFRules.builtIn.map(\.id))
            for pair in text.split(separator: ",") {
                let kv = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, known.contains(kv[0]), let action = WAF.Action(rawValue: kv[1]) else {
                    problems.append("HEALTHHUB_WAF_RULES takes rule=block|count|allow pairs with rule one of \(known.sorted().joined(separator: ", "))")
                    continue
                }
                waf.overrides[kv[0]] = action
            }
        }
        return problems
    }
}
