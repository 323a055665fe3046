import Foundation
import Gateway
import ServerApp

/// Reads the WAF settings: `HEALTHHUB_WAF=on|off`, `HEALTHHUB_WAF_ALLOW` / `HEALTHHUB_WAF_DENY`
/// (comma-separated addresses or CIDR blocks, IPv4 or IPv6), `HEALTHHUB_TRUSTED_PROXIES` (same
/// form), `HEALTHHUB_WAF_RULES` (`rule-id=block|count|allow,...` to change a built-in rule's
/// action), `HEALTHHUB_WAF_FILE` (JSON refining all of it, re-read on SIGHUP) and the geo
/// allow-list: `HEALTHHUB_GEO=on|off`, `HEALTHHUB_GEO_ALLOW` (default GB,IE,US),
/// `HEALTHHUB_GEO_DATABASE` (.mmdb), `HEALTHHUB_GEO_UNKNOWN=allow|block`, `HEALTHHUB_GEO_HEADER`
/// (default CloudFront-Viewer-Country). Returns the problems found.
enum WAFSettings {
    static func apply(_ settings: Settings, to config: inout HealthHubConfiguration) -> [String] {
        var problems: [String] = []
        switch settings.value(nil, "WAF") {
        case nil, "on": config.waf.enabled = true
        case "off": config.waf.enabled = false
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
        config.waf.allow = ranges("WAF_ALLOW")
        config.waf.deny = ranges("WAF_DENY")
        config.trustedProxies = ranges("TRUSTED_PROXIES")
        config.corsOrigins = (settings.value(nil, "CORS_ORIGINS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for origin in config.corsOrigins where !(origin.hasPrefix("https://") || origin.hasPrefix("http://")) {
            problems.append("HEALTHHUB_CORS_ORIGINS: '\(origin.prefix(60))' is not an origin (https://app.example.org)")
        }
        switch settings.value(nil, "GEO") {
        case nil, "on": config.waf.geo.enabled = true
        case "off": config.waf.geo.enabled = false
        default: problems.append("HEALTHHUB_GEO must be on or off")
        }
        if let allow = settings.value(nil, "GEO_ALLOW") {
            config.waf.geo.allow = allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            for code in config.waf.geo.allow where code.count != 2 || !code.allSatisfy({ $0.isASCII && $0.isLetter }) {
                problems.append("HEALTHHUB_GEO_ALLOW: '\(code.prefix(10))' is not an ISO 3166-1 alpha-2 code")
            }
        }
        switch settings.value(nil, "GEO_UNKNOWN") {
        case nil, "allow": config.waf.geo.unknown = .allow
        case "block": config.waf.geo.unknown = .block
        default: problems.append("HEALTHHUB_GEO_UNKNOWN must be allow or block")
        }
        config.waf.geo.database = settings.value(nil, "GEO_DATABASE")
        config.waf.geo.header = settings.value(nil, "GEO_HEADER") ?? config.waf.geo.header
        config.wafFile = settings.value(nil, "WAF_FILE")
        if let text = settings.value(nil, "WAF_RULES") {
            let known = Set(WAFRules.builtIn.map(\.id))
            for pair in text.split(separator: ",") {
                let kv = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, known.contains(kv[0]), let action = WAF.Action(rawValue: kv[1]) else {
                    problems.append("HEALTHHUB_WAF_RULES takes rule=block|count|allow pairs with rule one of \(known.sorted().joined(separator: ", "))")
                    continue
                }
                config.waf.overrides[kv[0]] = action
            }
        }
        return problems
    }
}
