import Foundation
import Gateway
import Kernel
import TestSupport
import Testing

@Suite struct WAFGeoTests {
    static func waf(_ change: (inout WAF.Configuration) -> Void = { _ in }) -> WAF {
        var c = WAF.Configuration()
        change(&c)
        return WAF(configuration: c)
    }

    @Test func countriesOutsideTheAllowListAreBlockedAndCounted() {
        let waf = Self.waf()
        #expect(waf.inspect(.init(client: "81.2.69.1", path: "/fhir/Patient", query: "", country: "GB")).action == .allow)
        #expect(waf.inspect(.init(client: "2a02:c7f::1", path: "/fhir/Patient", query: "", country: "IE")).action == .allow)
        let french = waf.inspect(.init(client: "2.16.0.1", path: "/fhir/Patient", query: "", country: "FR"))
        #expect(french == WAF.Verdict(action: .block, rule: "geo-deny"))
        #expect(waf.matches["geo-deny"] == 1)
        // unknown countries pass by default (as CloudFront's geo restriction), or are blocked when asked
        #expect(waf.inspect(.init(client: "198.51.100.7", path: "/", query: "")).action == .allow)
        let strict = Self.waf { $0.geo.unknown = .block }
        #expect(strict.inspect(.init(client: "198.51.100.7", path: "/", query: "")) == WAF.Verdict(action: .block, rule: "geo-unknown"))
        // internal addresses are never geo-checked; allow-listed ones neither; off is off
        for internalAddress in ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.20.0.1", "::1", "fd00::7"] {
            #expect(strict.inspect(.init(client: internalAddress, path: "/", query: "", country: "FR")).action == .allow, "\(internalAddress)")
        }
        #expect(Self.waf { $0.allow = [IPRange("2.16.0.0/16")!] }.inspect(.init(client: "2.16.0.1", path: "/", query: "", country: "FR")).action == .allow)
        #expect(Self.waf { $0.geo.enabled = false }.inspect(.init(client: "2.16.0.1", path: "/", query: "", country: "FR")).action == .allow)
        #expect(Self.waf { $0.geo.allow = ["fr"] }.inspect(.init(client: "2.16.0.1", path: "/", query: "", country: "FR")).action == .allow)
    }

    @Test func theCountryHeaderIsBelievedFromTrustedProxiesOnly() throws {
        var writer = MMDBWriter()
        writer.insert(network: "2.16.0.0/16", country: "FR")
        let db = try MMDBReader(bytes: writer.build())
        let proxies = [IPRange("192.0.2.0/24")!]
        // from a trusted proxy: the header decides
        #expect(WAFMiddleware.country(header: "gb", peer: "192.0.2.10", client: "2.16.4.4", trusted: proxies, database: db) == "GB")
        // from anyone else: ignored, the database answers
        #expect(WAFMiddleware.country(header: "GB", peer: "198.51.100.9", client: "2.16.4.4", trusted: proxies, database: db) == "FR")
        #expect(WAFMiddleware.country(header: "GB", peer: "198.51.100.9", client: "198.51.100.9", trusted: proxies, database: nil) == nil)
        // a malformed header from a proxy falls back to the database
        #expect(WAFMiddleware.country(header: "G1", peer: "192.0.2.10", client: "2.16.4.4", trusted: proxies, database: db) == "FR")
    }

    @Test func aCountedPatternDoesNotHideABlockingOneAndAllowRulesOnlyLookAtPaths() throws {
        var c = WAF.Configuration()
        c.overrides["sqli-union"] = .count
        let waf = WAF(configuration: c)
        // "union select" (counted) comes first in the text; the XSS after it still blocks
        #expect(waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "a=union select&b=<script>x")).action == .block)
        #expect(throws: WAFConfigError.self) {
            try WAFConfigDocument.parse(
                Data(#"{"rules": [{"id": "site-ok", "group": "site", "action": "allow", "patterns": ["trusted"], "targets": ["query"]}]}"#.utf8), over: .init())
        }
        #expect(throws: WAFConfigError.self) { try WAFConfigDocument.parse(Data(#"{"overrides": {"xss-script": "allow"}}"#.utf8), over: .init()) }
        let site = try WAFConfigDocument.parse(
            Data(#"{"rules": [{"id": "site-ok", "group": "site", "action": "allow", "patterns": ["/fhir/binary/scan"], "targets": ["path"]}]}"#.utf8), over: .init())
        #expect(WAF(configuration: site).inspect(.init(client: nil, path: "/fhir/Binary/scan-../etc", query: "")).action == .allow)
    }

    @Test func routeLimitsUseTheLongestPrefix() {
        let c = WAF.Configuration()
        #expect(c.limits(for: "/fhir/Patient").maxBodyBytes == 64 << 20)
        #expect(c.limits(for: "/login/mfa").maxBodyBytes == 16 << 10)
        #expect(c.limits(for: "/oauth/token").maxHeaderBytes == 8 << 10)
        #expect(c.limits(for: "/api/alarms/silences").maxBodyBytes == 1 << 20)
        #expect(c.limits(for: "/status").maxBodyBytes == 1 << 20)
        // header size is checked against the route's limit
        let waf = WAF(configuration: c)
        #expect(waf.inspect(.init(client: nil, path: "/oauth/token", query: "", headerBytes: 10_000)) == WAF.Verdict(action: .block, rule: "protocol-header-size"))
        #expect(waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "", headerBytes: 10_000)).action == .allow)
    }
}

@Suite struct WAFConfigTests {
    @Test func aDocumentRefinesTheStartSettings() throws {
        let doc = #"""
            {"deny": ["203.0.113.0/24", "2001:db8:bad::/48"], "overrides": {"sqli-union": "count"},
             "rules": [{"id": "site-probe", "group": "site", "action": "block", "patterns": ["/wp-admin"], "targets": ["path"]}],
             "geo": {"allow": ["GB", "US"], "unknown": "block"},
             "limits": {"maxQueryParameters": 20, "routes": [{"prefix": "/fhir", "maxBodyBytes": 1048576, "maxHeaderBytes": 8192}]}}
            """#
        var base = WAF.Configuration()
        base.allow = [IPRange("10.0.0.0/8")!]
        let c = try WAFConfigDocument.parse(Data(doc.utf8), over: base)
        #expect(c.allow == base.allow)  // absent keys keep the start settings
        #expect(c.deny.map(\.description) == ["203.0.113.0/24", "2001:db8:bad::/48"])
        #expect(c.overrides == ["sqli-union": .count])
        #expect(c.geo.allow == ["GB", "US"])
        #expect(c.geo.unknown == .block)
        #expect(c.maxQueryParameters == 20)
        #expect(c.limits(for: "/fhir/Bundle").maxBodyBytes == 1 << 20)
        #expect(c.limits(for: "/login").maxBodyBytes == 16 << 10)  // other defaults stay
        let waf = WAF(configuration: c)
        #expect(waf.inspect(.init(client: nil, path: "/wp-admin/setup.php", query: "")) == WAF.Verdict(action: .block, rule: "site-probe"))
        #expect(waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "name=x union select y")).action == .count)
        // the document of a configuration reads back to the same configuration
        #expect(try WAFConfigDocument.parse(Data(WAFConfigDocument.document(of: c).serialized(pretty: true)), over: WAF.Configuration()) == c)
    }

    @Test func everyProblemOfABadDocumentIsReported() {
        let doc = #"""
            {"deny": ["300.1.1.1"], "overrides": {"no-such-rule": "count"},
             "rules": [{"id": "sqli-union", "group": "x", "action": "block", "patterns": ["ab"], "targets": []}],
             "geo": {"allow": ["GBR"], "unknown": "count"}, "limits": {"routes": [{"prefix": "fhir", "maxBodyBytes": -1, "maxHeaderBytes": 10}]}}
            """#
        #expect {
            try WAFConfigDocument.parse(Data(doc.utf8), over: .init())
        } throws: { error in
            guard let e = error as? WAFConfigError else { return false }
            return e.problems.count == 8
                && e.problems.contains("deny: '300.1.1.1' is not an address or CIDR block")
                && e.problems.contains("overrides: no rule 'no-such-rule'")
                && e.problems.contains("geo.allow: 'GBR' is not an ISO 3166-1 alpha-2 code")
        }
        #expect(throws: WAFConfigError.invalid(["not a WAF document: geo.unknown: Cannot initialize Action from invalid String value maybe"])) {
            try WAFConfigDocument.parse(Data(#"{"geo": {"unknown": "maybe"}}"#.utf8), over: .init())
        }
        #expect(throws: WAFConfigError.self) { try WAFConfigDocument.parse(Data("not json".utf8), over: .init()) }
    }

    @Test func theRuntimeReloadsTheFileAndKeepsTheOldRulesWhenTheNewOnesAreBad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("waf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("waf.json")
        func rule(_ pattern: String) -> String {
            #"{"rules": [{"id": "site", "group": "site", "action": "block", "patterns": ["\#(pattern)"], "targets": ["query"]}]}"#
        }
        try rule("first-probe").write(to: file, atomically: true, encoding: .utf8)
        let runtime = try WAFRuntime(base: .init(), file: file.path)
        #expect(runtime.waf.inspect(.init(client: nil, path: "/", query: "q=first-probe")).action == .block)
        try rule("second-probe").write(to: file, atomically: true, encoding: .utf8)
        try runtime.reload()
        #expect(runtime.waf.inspect(.init(client: nil, path: "/", query: "q=first-probe")).action == .allow)
        #expect(runtime.waf.inspect(.init(client: nil, path: "/", query: "q=second-probe")).action == .block)
        try #"{"rules": "#.write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: WAFConfigError.self) { try runtime.reload() }
        #expect(runtime.waf.inspect(.init(client: nil, path: "/", query: "q=second-probe")).action == .block)
        // a replacement through the API is validated, applied and written to the file
        #expect(throws: WAFConfigError.self) { try runtime.replace(with: Data(#"{"deny": ["nope"]}"#.utf8)) }
        #expect(try runtime.replace(with: Data(rule("third-probe").utf8)))
        #expect(runtime.waf.inspect(.init(client: nil, path: "/", query: "q=third-probe")).action == .block)
        #expect(try String(contentsOf: file, encoding: .utf8).contains("third-probe"))
        // a WAF file that cannot be read stops the start
        #expect(throws: WAFConfigError.invalid(["cannot read WAF file /nonexistent/waf.json"])) { try WAFRuntime(base: .init(), file: "/nonexistent/waf.json") }
    }

    @Test func theGeoDatabaseIsLoadedWithTheConfiguration() throws {
        var writer = MMDBWriter()
        writer.insert(network: "81.2.69.0/24", country: "GB")
        writer.insert(network: "2.16.0.0/16", country: "FR")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("geo-\(UUID().uuidString).mmdb").path
        try Data(writer.build()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var base = WAF.Configuration()
        base.geo.database = path
        let runtime = try WAFRuntime(base: base, file: nil)
        #expect(runtime.geo?.country("81.2.69.142") == "GB")
        #expect(runtime.geo?.country("2.16.3.4") == "FR")
        base.geo.database = path + ".missing"
        #expect(throws: WAFConfigError.self) { try WAFRuntime(base: base, file: nil) }
        base.geo.enabled = false
        #expect(try WAFRuntime(base: base, file: nil).geo == nil)  // not loaded when geo is off
    }
}
