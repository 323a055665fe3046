import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Every refusal has the shape of the surface it answers for: OperationOutcome on /fhir,
/// problem+json on /api and elsewhere, OAuth error JSON on the token endpoints, HTML on pages.
@Suite struct ErrorSurfaceTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func refusalsAreShapedForTheirSurface(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            func contentType(_ r: TestServer.Reply) -> String { r.headers[.contentType] ?? "" }
            // FHIR: no route, bad spelling, no token, WAF
            for r in [
                try await s.get("/fhir/Patient/x/y/z/w"), try await s.get("//fhir/Patient"), try await s.get("/fhir/Patient", as: .anonymous),
                try await s.get("/fhir/Patient?name=%27%20OR%20%271%27%3D%271"),
            ] {
                #expect(contentType(r) == "application/fhir+json" && r["resourceType"]?.stringValue == "OperationOutcome", "\(r.code) \(r.text)")
            }
            // the operations API and everything else: RFC 9457 problems
            let noToken = try await s.get("/api/alarms", as: .anonymous)
            #expect(noToken.code == 401 && contentType(noToken) == "application/problem+json" && noToken["status"]?.numberText == "401")
            #expect(noToken.headers[.wwwAuthenticate] == "Bearer realm=\"HealthHub\"")
            let patientToken = try await s.get(
                "/api/alarms",
                as: .bearer(
                    try s.token(
                        for: try await s.services.identity.accounts.create(
                            email: "p@example.org", role: .patient, password: AccessWorld.password, patientID: s.create(patientJSON), practitionerID: nil), scope: "patient/*.rs")))
            #expect(patientToken.code == 403 && contentType(patientToken) == "application/problem+json" && patientToken["code"]?.stringValue == "forbidden")
            let missing = try await s.get("/no/such/thing", as: .anonymous)
            #expect(missing.code == 404 && contentType(missing) == "application/problem+json" && missing["detail"] != nil)
            let spelling = try await s.get("//api/waf", as: .anonymous)
            #expect(spelling.code == 400 && spelling["code"]?.stringValue == "invalid_path")
            // pages: HTML, escaped
            let page = try await s.get("/login/%2e%2e", as: .anonymous)
            #expect(page.code == 400 && contentType(page).hasPrefix("text/html") && page.text.contains("<h1>Bad Request</h1>"))
            // OAuth token endpoints: RFC 6749 error JSON
            let token = try await s.request(
                .post, "/oauth/token//", body: "grant_type=client_credentials", headers: [.contentType: "application/x-www-form-urlencoded"], as: .anonymous)
            #expect(token.code == 400 && contentType(token) == "application/json" && token["error"]?.stringValue == "invalid_path")
        }
    }
}
