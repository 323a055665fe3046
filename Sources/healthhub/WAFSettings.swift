import Foundation
import Gateway
import ServerApp

/// Reads the WAF settings: `HEALTHHUB_WAF=on|off`, `HEALTHHUB_WAF_ALLOW` / `HEALTHHUB_WAF_DENY`
/// (comma-separated addresses or CIDR blocks, IPv4 or IPv6), `HEALTHHUB_TRUSTED_PROXIES` (same
/// form) and `HEALTHHUB_WAF_RULES` (`rule-id=block|count|allow,...` to change a built-in rule's
/// action). Returns the problems found.
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
