import Demo
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Kernel
import Logging
import ServerApp
import Synchronization
import TestSupport
import Testing

/// Log lines written by the JSON handler, kept for inspection.
final class CapturedLogs: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "healthhub-test") { label in
            JSONLogHandler(label: label, lines: { line in self.lines.withLock { $0.append(line) } })
        }
        logger.logLevel = .info
        return logger
    }

    var all: [String] { lines.withLock { $0 } }
}

@Suite struct GatewayChainTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func everyResponseCarriesTheSecurityHeaders(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let replies = [
                try await s.get("/fhir/Patient"),  // API
                try await s.get("/fhir/Patient", as: .anonymous),  // refused by authentication
                try await s.get("/login", as: .anonymous),  // HTML page
                try await s.get("/no/such/route", as: .anonymous),  // 404
                try await s.get("/health", as: .anonymous),
            ]
            #expect(replies.map(\.code) == [200, 401, 200, 404, 200])
            for r in replies {
                #expect(r.headers[.xContentTypeOptions] == "nosniff")
                #expect(r.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                // (pages send the referrer to HealthHub itself, so that their forms carry its Origin)
                #expect(r.headers[HTTPField.Name("Referrer-Policy")!] == (r.headers[.contentType]?.hasPrefix("text/html") == true ? "same-origin" : "no-referrer"))
                #expect(r.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(r.headers[.strictTransportSecurity] == nil)  // plain http here
            }
            // the sign-in page keeps its own policy: its stylesheet and scripts from HealthHub only, nothing inline
            let pagePolicy = try #require(replies[2].headers[.contentSecurityPolicy])
            #expect(pagePolicy.contains("style-src 'self'") && pagePolicy.contains("script-src 'self'") && !pagePolicy.contains("unsafe-inline"))
        }
    }

    /// (Host headers themselves are sent over a real socket by tests/interop/test_deny_by_default.py:
    /// the in-process clients always say localhost.)
    @Test func hostNamesAreComparedWithoutPortsBracketsOrCase() {
        #expect(HostGuardMiddleware.name(of: "[2001:db8::1]:443") == "2001:db8::1")
        #expect(HostGuardMiddleware.name(of: "Example.ORG.") == "example.org")
        #expect(HostGuardMiddleware.name(of: "clinic.lan:8443") == "clinic.lan")
        for odd in ["127.0.0.1:8311@evil.com", "[::1]evil.com", "127.0.0.1:8311, evil.com", "localhost:abc", "127.0.0.1:8311/evil", "", "[]", "a b", "localhost:123456"] {
            #expect(HostGuardMiddleware.name(of: odd) == nil, "\(odd)")
        }
        #expect(HostGuardMiddleware.isLoopback("127.0.0.1") && HostGuardMiddleware.isLoopback("::1") && !HostGuardMiddleware.isLoopback("0.0.0.0"))
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func readinessChecksDatabaseMigrationsAndDisk(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let ready = try await s.get("/ready", as: .anonymous)
            #expect(ready.code == 200)
            #expect(ready["status"]?.stringValue == "ready")
            for check in ["database", "migrations", "disk"] {
                #expect(ready["checks"]?[check]?["ok"]?.boolValue == true, "\(check)")
            }
        }
    }

    /// The logs of a session with demo patients never contain their names, identifiers or
    /// birth dates; every request is logged with its route template and request id.
    @Test(arguments: TestDatabaseKind.allCases)
    func logsCarryRequestIDsAndNoPatientData(_ kind: TestDatabaseKind) async throws {
        let logs = CapturedLogs()
        try await TestServer.run(kind, logger: logs.logger) { s in
            _ = try await DemoLoader(fhir: s.services.fhir).load(patients: 3, seed: 7)
            let patients = try await s.get("/fhir/Patient?_count=50").entries.compactMap { $0["resource"] }
            #expect(patients.count == 3)
            var secrets: Set<String> = []
            for p in patients {
                for name in p["name"]?.arrayValue ?? [] {
                    if let family = name["family"]?.stringValue { secrets.insert(family) }
                    for given in name["given"]?.arrayValue ?? [] { if let g = given.stringValue { secrets.insert(g) } }
                }
                for identifier in p["identifier"]?.arrayValue ?? [] { if let v = identifier["value"]?.stringValue { secrets.insert(v) } }
                if let birth = p["birthDate"]?.stringValue { secrets.insert(birth) }
            }
            // searches and reads that put those values in URLs, and failures
            for p in patients {
                let family = p["name"]?.arrayValue?.first?["family"]?.stringValue ?? ""
                _ = try await s.get("/fhir/Patient?family=\(family)")
                _ = try await s.get("/fhir/Patient/\(p["id"]!.stringValue!)")
                _ = try await s.get("/fhir/Patient?birthdate=\(p["birthDate"]?.stringValue ?? "")&name=\(family)", headers: [:], as: .anonymous)
                _ = try await s.post("/fhir/Patient", j(#"{"resourceType":"Patient","name":[{"family":"\#(family)"}],"birthDate":"not-a-date"}"#))
            }
            let secretList = secrets.filter { $0.count >= 4 }
            #expect(!secretList.isEmpty)
            let lines = logs.all
            #expect(lines.count > 10)
            for line in lines {
                for secret in secretList { #expect(!line.contains(secret), "a log line contains patient data") }
            }
            let requests = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["msg"] as? String == "request" }
            #expect(requests.count >= 12)
            #expect(requests.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false })
            let routes = Set(requests.compactMap { $0["route"] as? String })
            #expect(requests.contains { $0["route"] as? String == "/fhir/{type}/{id}" && $0["status"] as? String == "200" }, "\(routes)")
            #expect(requests.contains { $0["status"] as? String == "401" })
        }
    }
}

@Suite struct CORSTests {
    @Test func onlyListedOriginsGetCORSHeaders() async throws {
        var config = HealthHubConfiguration()
        config.gateway.corsOrigins = ["https://app.example.org"]
        try await TestServer.run(.sqlite, configuration: config) { s in
            let preflight = try await s.request(.options, "/fhir/Patient", headers: [.origin: "https://app.example.org", .accessControlRequestMethod: "GET"], as: .anonymous)
            #expect(preflight.code == 204)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example.org")
            #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            let call = try await s.get("/fhir/Patient", headers: [.origin: "https://app.example.org"])
            #expect(call.code == 200 && call.headers[.accessControlAllowOrigin] == "https://app.example.org")
            #expect(call.headers[.accessControlExposeHeaders]?.contains("ETag") == true)
            // refusals carry them too, so the app can read the error
            let refused = try await s.get("/fhir/Patient", headers: [.origin: "https://app.example.org"], as: .anonymous)
            #expect(refused.code == 401 && refused.headers[.accessControlAllowOrigin] == "https://app.example.org")
            // other origins get nothing
            let other = try await s.get("/fhir/Patient", headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let otherPreflight = try await s.request(.options, "/fhir/Patient", headers: [.origin: "https://evil.example", .accessControlRequestMethod: "GET"], as: .anonymous)
            #expect(otherPreflight.headers[.accessControlAllowOrigin] == nil)
        }
    }
}
