import FHIR
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import ServerApp
import Telemetry
import TestSupport
import Testing

@Suite struct GeoAndLimitsHTTPTests {
    /// Over a real socket: the peer is 127.0.0.1, listed as a trusted proxy, which forwards
    /// clients from elsewhere with their country, or leaves the country to the geo database.
    @Test func theGeoAllowListUsesTheTrustedProxyHeaderOrTheDatabase() async throws {
        var writer = MMDBWriter()
        writer.insert(network: "81.2.69.0/24", country: "GB")
        writer.insert(network: "2.16.0.0/16", country: "FR")
        writer.insert(network: "2a02:26f0::/29", country: "DE")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("geo-\(UUID().uuidString).mmdb").path
        try Data(writer.build()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = HealthHubConfiguration()
        config.port = 0
        config.gateway.trustedProxies = [IPRange("127.0.0.1")!]
        config.gateway.waf.geo.database = path
        try await TestServer.run(.sqlite, configuration: config, live: true) { s in
            func get(forwardedFor: String, country: String? = nil) async throws -> Int {
                var headers: HTTPFields = [.xForwardedFor: forwardedFor]
                if let country { headers[HTTPField.Name("CloudFront-Viewer-Country")!] = country }
                return try await s.get("/fhir/metadata", headers: headers, as: .anonymous).code
            }
            // the proxy's header decides when it is there
            #expect(try await get(forwardedFor: "198.51.100.7", country: "GB") == 200)
            #expect(try await get(forwardedFor: "198.51.100.7", country: "us") == 200)
            #expect(try await get(forwardedFor: "81.2.69.10", country: "FR") == 403)
            // otherwise the database
            #expect(try await get(forwardedFor: "81.2.69.10") == 200)
            #expect(try await get(forwardedFor: "2.16.4.4") == 403)
            #expect(try await get(forwardedFor: "2a02:26f0:1::1") == 403)
            #expect(try await get(forwardedFor: "198.51.100.7") == 200)  // unknown: allowed by default
            let blocked = try await s.get("/fhir/metadata", headers: [.xForwardedFor: "2.16.4.4"], as: .anonymous)
            #expect(blocked.issueCodes == ["security"])
            #expect(s.services.telemetry.snapshot()[.wafBlocks] == 4)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func bodiesOverTheRouteLimitAre413AndNothingIsStored(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let big = String(repeating: "a", count: 20 * 1024)
            let login = try await s.request(.post, "/login", body: "email=x&password=\(big)", headers: [.contentType: "application/x-www-form-urlencoded"], as: .anonymous)
            #expect(login.code == 413)
            #expect(login.headers[.contentType]?.hasPrefix("text/html") == true && login.text.contains("larger than this URL takes"))
            let silence = try await s.request(.post, "/api/alarms/silences", body: String(repeating: " ", count: 2 << 20))
            #expect(silence.code == 413)
            // a FHIR body of 2 MB (a scanned document) is within the /fhir limit
            let scan = Data((0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 31) }).base64EncodedString()
            let note = j(#"{"resourceType":"Binary","contentType":"application/pdf","data":"\#(scan)"}"#)
            let stored = try await s.post("/fhir/Binary", note)
            #expect(stored.code == 201, "\(stored.code) \(stored.text.prefix(300))")
            #expect(s.services.telemetry.snapshot()[.wafBlocks] == 2)
        }
    }
}

@Suite struct WAFAdminTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func adminsReadReplaceAndReloadTheWAF(_ kind: TestDatabaseKind) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wafapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("waf.json")
        try #"{"rules": [{"id": "site-probe", "group": "site", "action": "block", "patterns": ["first-probe"], "targets": ["query"]}]}"#
            .write(to: file, atomically: true, encoding: .utf8)
        var config = HealthHubConfiguration()
        config.gateway.wafFile = file.path
        try await TestServer.run(kind, configuration: config) { s in
            let accounts = s.services.identity.accounts
            let password = "correct horse battery staple 42"
            let admin = try await accounts.create(email: "sec@example.org", role: .admin, password: password, patientID: nil, practitionerID: nil)
            let auditor = try await accounts.create(email: "aud@example.org", role: .auditor, password: password, patientID: nil, practitionerID: nil)
            let adminToken = try s.token(for: admin, scope: "user/*.rs")
            let auditorToken = try s.token(for: auditor, scope: "user/AuditEvent.rs")
            #expect(try await s.get("/fhir/metadata?q=first-probe", as: .anonymous).code == 403)

            #expect(try await s.get("/api/waf", as: .anonymous).code == 401)
            let current = try await s.get("/api/waf", as: .bearer(auditorToken))
            #expect(current.code == 200)
            #expect(current["configuration"]?["rules"]?.arrayValue?.first?["id"]?.stringValue == "site-probe")
            #expect(current["matches"]?["site-probe"]?.numberText == "1")
            #expect(current["configuration"]?["geo"]?["allow"]?.arrayValue?.compactMap(\.stringValue) == ["GB", "IE", "US"])

            let replacement = #"{"rules": [{"id": "site-probe", "group": "site", "action": "block", "patterns": ["second-probe"], "targets": ["query"]}]}"#
            #expect(try await s.request(.put, "/api/waf", body: replacement, as: .bearer(auditorToken)).code == 403)
            let bad = try await s.request(.put, "/api/waf", body: #"{"deny": ["not-an-address"]}"#, as: .bearer(adminToken))
            #expect(bad.code == 422)
            #expect(bad["problems"]?.arrayValue?.first?.stringValue == "deny: 'not-an-address' is not an address or CIDR block")
            #expect(try await s.get("/fhir/metadata?q=first-probe", as: .anonymous).code == 403)  // unchanged
            let put = try await s.request(.put, "/api/waf", body: replacement, as: .bearer(adminToken))
            #expect(put.code == 200)
            #expect(put["persisted"]?.boolValue == true)
            #expect(try await s.get("/fhir/metadata?q=first-probe", as: .anonymous).code == 200)
            #expect(try await s.get("/fhir/metadata?q=second-probe", as: .anonymous).code == 403)
            #expect(try String(contentsOf: file, encoding: .utf8).contains("second-probe"))

            // an edit of the file takes effect on reload
            try #"{"rules": [{"id": "site-probe", "group": "site", "action": "block", "patterns": ["third-probe"], "targets": ["query"]}]}"#
                .write(to: file, atomically: true, encoding: .utf8)
            #expect(try await s.request(.post, "/api/waf/reload", as: .bearer(adminToken)).code == 200)
            #expect(try await s.get("/fhir/metadata?q=third-probe", as: .anonymous).code == 403)
            try "{".write(to: file, atomically: true, encoding: .utf8)
            #expect(try await s.request(.post, "/api/waf/reload", as: .bearer(adminToken)).code == 422)
            #expect(try await s.get("/fhir/metadata?q=third-probe", as: .anonymous).code == 403)
        }
    }
}
