import FHIR
import Foundation
import Gateway
import HTTPTypes
import Kernel
import ServerApp
import TestSupport
import Testing

/// Rows of the attack table in docs/security.md that no other suite covers.
@Suite struct AttackTableTests {
    /// With the WAF switched off, injection in every search position still reaches the database
    /// only as bound values: nothing matches that should not, and nothing is changed.
    @Test(arguments: TestDatabaseKind.allCases)
    func sqlInjectionNeverReachesTheDatabase(_ kind: TestDatabaseKind) async throws {
        var configuration = HealthHubConfiguration()
        configuration.gateway.waf.enabled = false
        try await TestServer.run(kind, configuration: configuration) { s in
            let f = try await SearchFixture.load(s)
            let before = try await s.get("/fhir/Patient?_total=accurate&_count=0").total
            let payloads = [
                "' OR '1'='1", "x' OR 1=1--", "'; DROP TABLE hh_resource;--", "1) OR (1=1", "x' UNION SELECT res_id FROM hh_resource--",
                "%' OR 'a'='a", "\\' OR 1=1 --", "x'||(SELECT 1)||'", "1 AND randomblob(100000000)", "x\u{0}y",
            ]
            for p in payloads {
                let q = p.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                for query in [
                    "Patient?family=\(q)", "Patient?_id=\(q)", "Patient?identifier=urn:sys|\(q)", "Observation?subject=Patient/\(q)",
                    "Observation?code=\(q)|\(q)", "Patient?birthdate=\(q)", "Patient?_sort=\(q)", "Observation?value-quantity=\(q)",
                    "Observation?subject:Patient.name=\(q)", "Patient?name:contains=\(q)",
                ] {
                    let r = try await s.get("/fhir/\(query)")
                    #expect([200, 400].contains(r.code), "\(query) -> \(r.code)")
                    let matched = r.entries.filter { $0["search"]?["mode"]?.stringValue == "match" }.count
                    #expect(matched == 0, "\(query) matched")
                }
            }
            #expect(try await s.get("/fhir/Patient?_total=accurate&_count=0").total == before)
            // a NUL in stored content is refused by validation, on both databases
            let nul = try await s.post("/fhir/Patient", j(#"{"resourceType":"Patient","name":[{"family":"x\u0000y"}]}"#))
            #expect([400, 422].contains(nul.code) && nul.issueCodes == ["value"], "\(nul.code) \(nul.text)")
            #expect(try await s.get("/fhir/Patient?_total=accurate&_count=0").total == before)
            #expect(try await s.get("/fhir/Patient/\(f.p1)").code == 200)
        }
    }

    /// What a caller sends never comes back as markup, even with the WAF off (which would
    /// otherwise refuse these requests before any page or handler sees them).
    @Test(arguments: TestDatabaseKind.allCases)
    func reflectedInputIsEscaped(_ kind: TestDatabaseKind) async throws {
        var configuration = HealthHubConfiguration()
        configuration.gateway.waf.enabled = false
        try await TestServer.run(kind, configuration: configuration) { s in
            let evil = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
            let q = evil.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            for path in ["/login?next=\(q)", "/oauth/authorize?client_id=\(q)&redirect_uri=\(q)&state=\(q)&scope=\(q)", "/fhir/Patient?family=\(q)", "/fhir/\(q)"] {
                let r = try await s.get(path, as: .anonymous)
                #expect(r.code != 403, "\(path): refused before reaching a page")
                #expect(!r.text.contains("<script>") && !r.text.contains("<img src=x"), "\(path)")
            }
        }
    }
}
