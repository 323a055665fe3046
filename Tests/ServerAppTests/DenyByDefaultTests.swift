import FHIR
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Deny by default, derived from the router itself: every registered route, every method, and
/// the path spellings that once led past authentication (`//fhir/Patient` answered 200 with
/// every patient, security advisory HH-2026-001). A route added later is covered here without
/// anyone remembering to add it.
@Suite struct DenyByDefaultTests {
    /// The routes anyone may call; docs/security.md lists the same. Adding a public route means
    /// adding it here, on purpose.
    static let publicRoutes: Set<String> = [
        "GET /health", "GET /ready", "GET /metrics", "GET /api/status", "GET /status",
        "GET /fhir/metadata", "GET /.well-known/smart-configuration", "GET /fhir/.well-known/smart-configuration",
        "GET /.well-known/openid-configuration", "GET /fhir/.well-known/openid-configuration", "GET /.well-known/jwks.json",
        "POST /oauth/token", "POST /oauth/revoke", "POST /oauth/introspect",
        "GET /login", "POST /login", "POST /login/mfa", "POST /login/enrol", "POST /logout",
        "GET /oauth/authorize", "POST /oauth/authorize", "POST /oauth/consent",
    ]

    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .head, .options]

    /// Route tests need many requests from one address; the rate limiter has tests of its own.
    static var configuration: HealthHubConfiguration {
        var c = HealthHubConfiguration()
        c.gateway.rateLimits.enabled = false
        return c
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func thePublicRoutesAreExactlyTheListedOnes(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration) { s in
            let registered = Set(s.routes.filter { $0.access == .public }.map { "\($0.method.rawValue) \($0.path)" })
            #expect(registered == Self.publicRoutes)
            // and the FHIR API, the operations API, everything else needs an identity
            #expect(s.routes.count > Self.publicRoutes.count + 20)
            #expect(s.routes.contains { $0.access == .identified && $0.path == "/fhir/{type}" && $0.method == .get })
            #expect(s.routes.contains { $0.access == .identified && $0.path == "/api/waf" && $0.method == .put })
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func noRouteMethodOrSpellingAnswersWithoutAToken(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration) { s in
            let patient = try await s.create(j(#"{"resourceType":"Patient","name":[{"family":"Quintero-Marker"}]}"#))
            let values = ["type": ["Patient"], "id": [patient], "vid": ["1"]]
            var checked = 0
            var failures: [String] = []
            for template in Set(s.routes.map(\.path)).sorted() {
                for path in Self.instances(template, values) {
                    for spelling in Self.spellings(path) {
                        for method in Self.methods {
                            let canonical = spelling == path
                            if canonical && Self.publicRoutes.contains("\(method.rawValue) \(template)") { continue }
                            let reply = try await Self.send(s, method, spelling, caller: .anonymous)
                            checked += 1
                            let allowed: Set<Int> =
                                canonical && s.routes.contains(where: { $0.path == template && $0.method == method })
                                ? [401] : [400, 401, 404]
                            if !allowed.contains(reply.code) || reply.text.contains("Quintero-Marker") {
                                failures.append("\(method.rawValue) \(spelling) -> \(reply.code)")
                            }
                        }
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.prefix(40))")
            #expect(checked > 3000)
            // the canonical tokenless read was refused and audited as a denial
            let denials = try await s.get("/fhir/AuditEvent?subtype=denied&_count=100")
            #expect(denials.code == 200)
            #expect(denials.entries.count == 100)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientTokenNeverReachesAnotherPatientsData(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration) { s in
            let w = try await AccessWorld.make(s)
            let secretPatient = "Brennan"
            let secret = try await s.create(j(#"{"resourceType":"Observation","status":"final","code":{"text":"marker-of-b"},"subject":{"reference":"Patient/\#(w.pb)"}}"#))
            let token = try w.caller(w.patient, "patient/*.cruds openid fhirUser")
            let values = ["type": ["Patient", "Observation"], "id": [w.pb, w.obsB, secret], "vid": ["1"]]
            var failures: [String] = []
            var checked = 0
            for template in Set(s.routes.filter { $0.access == .identified }.map(\.path)).sorted() {
                for path in Self.instances(template, values) {
                    let namesB = [w.pb, w.obsB, secret].contains { path.contains($0) }
                    for spelling in Self.spellings(path) {
                        for method in Self.methods {
                            let reply = try await Self.send(s, method, spelling, caller: token, bodyFor: w.pb)
                            checked += 1
                            if reply.text.contains(secretPatient) || reply.text.contains("marker-of-b") || (namesB && (200..<300).contains(reply.code)) {
                                failures.append("\(method.rawValue) \(spelling) -> \(reply.code)")
                            }
                        }
                    }
                }
            }
            // queries that name the other patient
            for query in [
                "Observation?subject=Patient/\(w.pb)", "Observation?patient=\(w.pb)", "Observation?_id=\(secret)",
                "Patient?_id=\(w.pb)", "Patient?name=Brennan", "Observation?subject:Patient.name=Brennan", "Observation?_include=Observation:subject",
            ] {
                let reply = try await s.get("/fhir/\(query)", as: token)
                checked += 1
                // (the query itself comes back in the Bundle's self link; the entries must not)
                let ids = reply.entries.compactMap { $0["resource"]?["id"]?.stringValue }
                if reply.code != 200 || ids.contains(where: [w.pb, w.obsB, secret].contains) { failures.append("GET /fhir/\(query) -> \(reply.code) \(ids)") }
            }
            #expect(failures.isEmpty, "\(failures.prefix(40))")
            #expect(checked > 3000)
            // nothing of B's was changed or deleted along the way
            let b = try await s.get("/fhir/Observation/\(secret)")
            #expect(b.code == 200 && b["meta"]?["versionId"]?.stringValue == "1")
            #expect(try await s.get("/fhir/Patient/\(w.pb)")["meta"]?["versionId"]?.stringValue == "1")
        }
    }

    // MARK: Requests

    static func send(_ s: TestServer, _ method: HTTPRequest.Method, _ path: String, caller: TestServer.Caller, bodyFor patient: String = "x") async throws -> TestServer.Reply {
        switch method {
        case .post, .put:
            let body = j(#"{"resourceType":"Observation","status":"final","code":{"text":"marker-of-b"},"subject":{"reference":"Patient/\#(patient)"}}"#)
            return try await s.request(method, path, json: body, as: caller)
        case .patch:
            return try await s.request(
                method, path, body: #"[{"op":"replace","path":"/status","value":"amended"}]"#,
                headers: [.contentType: "application/json-patch+json"], as: caller)
        default:
            return try await s.request(method, path, as: caller)
        }
    }

    // MARK: Paths and their spellings

    /// Every concrete path of a route template (`/fhir/{type}/{id}`), with each parameter taking
    /// each of its values.
    static func instances(_ template: String, _ values: [String: [String]]) -> [String] {
        var paths = [""]
        for segment in template.split(separator: "/") {
            let isParameter = segment.hasPrefix("{") && segment.hasSuffix("}")
            let options = isParameter ? values[String(segment.dropFirst().dropLast()), default: ["x"]] : [String(segment)]
            paths = paths.flatMap { p in options.map { "\(p)/\($0)" } }
        }
        return paths.map { $0.isEmpty ? "/" : $0 }
    }

    /// The path as sent, and the other spellings a router or a proxy may treat as the same path:
    /// repeated slashes in each position, a trailing slash, `.` and `..` segments, encoded
    /// separators and dots, encoded letters, `;` parameters, backslashes and case changes.
    static func spellings(_ path: String) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        func join(_ parts: [String]) -> String { "/" + parts.joined(separator: "/") }
        var out: [String] = [path, path + "/", "/" + path, "//" + path]
        for k in segments.indices {
            var a = segments; a[k] = "/" + a[k]; out.append(join(a))  // //
            var b = segments; b[k] = "//" + b[k]; out.append(join(b))  // ///
            var c = segments; c.insert(".", at: k); out.append(join(c))  // /./
            var d = segments; d.insert(contentsOf: ["x", ".."], at: k); out.append(join(d))  // /x/../
            var e = segments; e[k] += ";x=1"; out.append(join(e))  // ;params
            var f = segments; f.insert("%2e", at: k); out.append(join(f))  // %2e
            var g = segments; g.insert(contentsOf: ["x", "%2E%2e"], at: k); out.append(join(g))
            if let first = segments[k].unicodeScalars.first, first.properties.isAlphabetic || ("0"..."9").contains(Character(first)) {
                var h = segments
                h[k] = String(format: "%%%02X", first.value) + h[k].dropFirst()
                out.append(join(h))  // %50atient
                var i = segments; i[k] = i[k].uppercased(); out.append(join(i))  // case
                var l = segments; l[k] = i[k].lowercased(); out.append(join(l))
            }
            if k > 0 {
                out.append("/" + segments[..<k].joined(separator: "/") + "%2F" + segments[k...].joined(separator: "/"))
                out.append("/" + segments[..<k].joined(separator: "/") + "%2f" + segments[k...].joined(separator: "/"))
                out.append("/" + segments[..<k].joined(separator: "/") + "\\" + segments[k...].joined(separator: "/"))
            }
        }
        out.append(path + "/.")
        out.append(path + "%00")
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }
}
