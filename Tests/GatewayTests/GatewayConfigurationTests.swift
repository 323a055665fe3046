import Gateway
import Kernel
import Testing

@Suite struct GatewayConfigurationTests {
    func read(_ environment: [String: String], flag: String? = nil) throws -> (GatewayConfiguration, [String]) {
        var c = GatewayConfiguration()
        let problems = c.read(try Settings(configPath: nil, environment: environment), rateLimitsFlag: flag)
        return (c, problems)
    }

    @Test func readsEverySettingOfTheGateway() throws {
        let (c, problems) = try read([
            "HEALTHHUB_RATE_LIMIT_IP": "100/10", "HEALTHHUB_RATE_LIMIT_COSTS": "search=5", "HEALTHHUB_WAF_DENY": "10.0.0.0/8",
            "HEALTHHUB_TRUSTED_PROXIES": "127.0.0.1", "HEALTHHUB_CORS_ORIGINS": "https://app.example.org", "HEALTHHUB_GEO_ALLOW": "gb,ie",
            "HEALTHHUB_WAF_RULES": "sqli-union=count",
        ])
        #expect(problems == [])
        #expect(c.rateLimits.ip.capacity == 100 && c.rateLimits.ip.perSecond == 10)
        #expect(c.rateLimits.costs[.search] == 5)
        #expect(c.waf.deny.count == 1 && c.trustedProxies.count == 1)
        #expect(c.corsOrigins == ["https://app.example.org"])
        #expect(c.waf.geo.allow == ["GB", "IE"])
        #expect(c.waf.overrides["sqli-union"] == .count)
    }

    @Test func everyProblemIsReportedAtOnceAndTheFlagWins() throws {
        let (c, problems) = try read(
            [
                "HEALTHHUB_RATE_LIMITS": "off", "HEALTHHUB_RATE_LIMIT_USER": "lots", "HEALTHHUB_WAF": "maybe", "HEALTHHUB_WAF_ALLOW": "10.0.0.300",
                "HEALTHHUB_CORS_ORIGINS": "app.example.org", "HEALTHHUB_GEO_UNKNOWN": "perhaps",
            ], flag: "on")
        #expect(c.rateLimits.enabled)
        #expect(problems.count == 5)
        #expect(problems.contains("HEALTHHUB_RATE_LIMIT_USER must be CAPACITY/PER_SECOND, e.g. 3000/1000"))
        #expect(problems.contains("HEALTHHUB_WAF must be on or off"))
        #expect(problems.contains { $0.hasPrefix("HEALTHHUB_WAF_ALLOW: '10.0.0.300'") })
    }
}
