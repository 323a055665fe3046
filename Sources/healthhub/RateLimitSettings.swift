import Gateway

/// Reads the rate-limit settings; returns the problems found.
enum RateLimitSettings {
    static func apply(_ settings: Settings, flag: String?, to c: inout RateLimiter.Configuration) -> [String] {
        var problems: [String] = []
        switch settings.value(flag, "RATE_LIMITS") {
        case nil, "on": c.enabled = true
        case "off": c.enabled = false
        default: problems.append("rate limits must be on or off")
        }
        func budget(_ name: String, _ keyPath: WritableKeyPath<RateLimiter.Configuration, RateLimiter.Budget>) {
            guard let text = settings.value(nil, "RATE_LIMIT_\(name)") else { return }
            let parts = text.split(separator: "/").compactMap { Double($0) }
            guard parts.count == 2, parts[0] >= 1, parts[1] >= 0 else {
                problems.append("HEALTHHUB_RATE_LIMIT_\(name) must be CAPACITY/PER_SECOND, e.g. 3000/1000")
                return
            }
            c[keyPath: keyPath] = .init(capacity: parts[0], perSecond: parts[1])
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
                c.costs[interaction] = cost
            }
        }
        return problems
    }
}
