import FHIR
import Foundation
import Gateway
import HTTPTypes
import ServerApp
import Testing
import TestSupport

@Suite struct WAFHTTPTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func blocksAnswer403WithTheRequestIDOnly(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let blocked = try await s.get("/fhir/Patient?name=%27%20OR%20%271%27%3D%271", headers: [HTTPField.Name("X-Request-ID")!: "trace-42"])
            #expect(blocked.code == 403)
            #expect(blocked.text == #"{"error":"blocked","request_id":"trace-42"}"#)
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
