import Alarms
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import Ops
import ServerApp
import Storage
import Telemetry
import TestSupport
import Testing

/// The value of one exported series (`name{labels}`), from the Prometheus text.
func metric(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

@Suite struct ObservabilityTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func metricsCountRequestsByRouteAndStatusClassAndTheSecurityEvents(_ kind: TestDatabaseKind) async throws {
        var config = HealthHubConfiguration()
        config.gateway.rateLimits.authentication = .init(capacity: 1, perSecond: 0)
        try await TestServer.run(kind, configuration: config) { s in
            let id = try await s.create(j(#"{"resourceType":"Patient","name":[{"family":"Metrics"}]}"#))
            for _ in 0..<3 { #expect(try await s.get("/fhir/Patient/\(id)").code == 200) }
            #expect(try await s.get("/fhir/Patient/nope").code == 404)
            #expect(try await s.get("/fhir/Patient", as: .anonymous).code == 401)  // no token
            #expect(try await s.get("/fhir/Patient", as: .bearer("forged.token.value")).code == 401)  // refused token
            #expect(try await s.get("/fhir/Patient?name=%27%20OR%20%271%27%3D%271").code == 403)  // WAF
            #expect(try await s.request(.post, "/login", body: "", as: .anonymous).code != 429)
            #expect(try await s.request(.post, "/login", body: "", as: .anonymous).code == 429)  // sign-in budget
            let reply = try await s.get("/metrics", as: .anonymous)
            #expect(reply.code == 200)
            #expect(reply.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = reply.text
            #expect(metric(text, #"healthhub_http_requests_total{method="GET",route="/fhir/{type}/{id}",status_class="2xx"}"#) == 3)
            #expect(metric(text, #"healthhub_http_requests_total{method="GET",route="/fhir/{type}/{id}",status_class="4xx"}"#) == 1)
            #expect(metric(text, #"healthhub_http_requests_total{method="POST",route="/fhir/{type}",status_class="2xx"}"#) == 1)
            #expect(metric(text, #"healthhub_http_request_duration_seconds_bucket{route="/fhir/{type}/{id}",status_class="2xx",le="0.2"}"#) != nil)
            #expect(metric(text, #"healthhub_http_request_duration_seconds_count{route="/fhir/{type}/{id}",status_class="2xx"}"#) == 3)
            #expect(metric(text, #"healthhub_waf_blocks_total{rule="sqli-tautology"}"#) == 1)
            #expect(metric(text, #"healthhub_rate_limit_rejections_total{bucket="signin"}"#) == 1)
            #expect(metric(text, #"healthhub_auth_failures_total{kind="token"}"#) == 1)
            #expect(metric(text, #"healthhub_auth_failures_total{kind="missing"}"#) == 1)
            #expect((metric(text, "healthhub_db_query_duration_seconds_count") ?? 0) >= 5)
            #expect(metric(text, "healthhub_db_pool_size") == Double(s.services.database.poolSize))
            #expect(metric(text, "healthhub_db_pool_in_use") == 0)
            #expect(metric(text, "healthhub_http_requests_in_flight") == 1)  // this very request
            #expect(metric(text, "healthhub_process_start_time_seconds") != nil)
            // labels are templates, never ids
            #expect(!text.contains(id))
            // the alarms read the same numbers
            let signals = s.services.telemetry.snapshot()
            #expect(signals[.wafBlocks] == 1)
            #expect(signals[.rateLimited] == 1)
            #expect(signals[.tokenFailures] == 1)
        }
    }

    @Test func metricsCanRequireAScrapeToken() async throws {
        var config = HealthHubConfiguration()
        config.ops.metricsToken = "scrape-secret"
        try await TestServer.run(.sqlite, configuration: config) { s in
            let anonymous = try await s.get("/metrics", as: .anonymous)
            #expect(anonymous.code == 401)
            #expect(try await s.get("/metrics", as: .bearer("wrong")).code == 401)
            #expect(try await s.get("/metrics", as: .bearer("scrape-secret")).code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func alarmsAPIShowsStatesAndManagesSilencesForOperatorsOnly(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let accounts = s.services.identity.accounts
            let password = "correct horse battery staple 42"
            let admin = try await accounts.create(email: "ops@example.org", role: .admin, password: password, patientID: nil, practitionerID: nil)
            let auditor = try await accounts.create(email: "audit@example.org", role: .auditor, password: password, patientID: nil, practitionerID: nil)
            let pid = try await s.create(j(#"{"resourceType":"Patient"}"#))
            let patient = try await accounts.create(email: "p@example.org", role: .patient, password: password, patientID: pid, practitionerID: nil)
            let adminToken = try s.token(for: admin, scope: "user/*.rs")
            // one round of probes and one evaluation, as the background service does
            // the audit chain is verified in the background; the first round has no result for it yet
            #expect(await s.operations.probes.run() == ["api": true, "database": true, "storage": true])
            #expect(await s.operations.probes.auditVerified() == true)
            let results = await s.operations.probes.run()
            #expect(results == ["api": true, "database": true, "storage": true, "audit": true])
            _ = await s.operations.coordinator.observe(SignalSample(at: Date().timeIntervalSince1970, values: s.services.telemetry.snapshot()))

            #expect(try await s.get("/api/alarms", as: .anonymous).code == 401)
            #expect(try await s.get("/api/alarms", as: .bearer(try s.token(for: patient, scope: "patient/*.rs"))).code == 403)
            #expect(try await s.get("/api/alarms", as: .bearer(try s.token(for: auditor, scope: "user/AuditEvent.rs"))).code == 200)
            let list = try await s.get("/api/alarms", as: .bearer(adminToken))
            let alarms = list["alarms"]?.arrayValue ?? []
            #expect(alarms.count == 22)
            let byName = Dictionary(uniqueKeysWithValues: alarms.compactMap { a in a["name"]?.stringValue.map { ($0, a) } })
            #expect(byName["ComponentDown"]?["state"]?.stringValue == "ok")
            #expect(byName["ComponentDown"]?["noData"]?.boolValue == false)
            #expect(byName["AuditChainBroken"]?["value"]?.numberText == "1")
            #expect(byName["BackupStale"]?["noData"]?.boolValue == true)
            #expect(byName["TLSCertificateExpiry"]?["noData"]?.boolValue == true)

            // silences: admins only, checked input
            let bad = try await s.request(.post, "/api/alarms/silences", body: #"{"alarm":"NoSuchAlarm","minutes":30,"reason":"test"}"#, as: .bearer(adminToken))
            #expect(bad.code == 400)
            let byAuditor = try await s.request(
                .post, "/api/alarms/silences", body: #"{"alarm":"DiskSpaceLow","minutes":30,"reason":"resize"}"#,
                as: .bearer(try s.token(for: auditor, scope: "user/AuditEvent.rs")))
            #expect(byAuditor.code == 403)
            let created = try await s.request(.post, "/api/alarms/silences", body: #"{"alarm":"DiskSpaceLow","minutes":30,"reason":"volume resize"}"#, as: .bearer(adminToken))
            #expect(created.code == 201)
            #expect(created["createdBy"]?.stringValue == "User/\(admin.id)")
            let silenceID = try #require(created["id"]?.stringValue)
            #expect(try await s.get("/api/alarms", as: .bearer(adminToken))["silences"]?.arrayValue?.count == 1)
            #expect(try await s.request(.delete, "/api/alarms/silences/\(silenceID)", as: .bearer(adminToken)).code == 204)
            #expect(try await s.request(.delete, "/api/alarms/silences/unknown", as: .bearer(adminToken)).code == 404)
            #expect(try await s.get("/api/alarms", as: .bearer(adminToken))["silences"]?.arrayValue?.isEmpty == true)
            #expect(try await s.get("/api/alarms/history", as: .bearer(adminToken)).code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func statusIsPublicWithAvailabilityPerComponent(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let before = try await s.get("/api/status", as: .anonymous)
            #expect(before.code == 200)
            #expect(before["components"]?.arrayValue?.first { $0["name"]?.stringValue == "database" }?["status"]?.stringValue == "unknown")
            let now = Date().timeIntervalSince1970
            _ = await s.operations.probes.run(now: now)
            _ = await s.operations.probes.auditVerified()
            try await s.operations.uptime.record(await s.operations.probes.run(now: now), at: now)
            let after = try await s.get("/api/status", as: .anonymous)
            #expect(after["status"]?.stringValue == "operational")
            let components = after["components"]?.arrayValue ?? []
            #expect(components.compactMap { $0["name"]?.stringValue } == ["api", "database", "storage", "audit"])
            #expect(components.allSatisfy { $0["status"]?.stringValue == "up" && $0["availability30d"]?.numberText == "1" && $0["probes"]?.numberText == "1" })
            let page = try await s.get("/status", as: .anonymous)
            #expect(page.code == 200)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("<td>database</td><td class=\"up\">up</td><td>100.000%</td>"))
        }
    }
}
