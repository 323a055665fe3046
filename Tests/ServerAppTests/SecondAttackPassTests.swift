import FHIR
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// What the second outside attack pass on issue 9 found, each now refused.
@Suite struct SecondAttackPassTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientCannotEnlistAPractitioner(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let dr = try await w.young()
            let me = try w.caller(w.patient, "patient/*.cruds")
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: dr).code == 403)
            let named = j(
                #"{"resourceType":"Encounter","status":"planned","class":{"code":"AMB"},"subject":{"reference":"Patient/\#(w.pa)"},"participant":[{"individual":{"reference":"Practitioner/\#(w.pry)"}}]}"#
            )
            let posted = try await s.post("/fhir/Encounter", named, as: me)
            #expect(posted.code == 201)
            let team = j(
                #"{"resourceType":"CareTeam","subject":{"reference":"Patient/\#(w.pa)"},"participant":[{"member":{"reference":"Practitioner/\#(w.pry)"}}]}"#)
            #expect(try await s.post("/fhir/CareTeam", team, as: me).code == 201)
            // the patient's own writes grant the named practitioner nothing
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: dr).code == 403)
            #expect(try await s.get("/fhir/Observation/\(w.obsA)", as: dr).code == 403)
            // the same Encounter written by a service that may grant care does
            var same = named.objectValue!
            same["id"] = .string(posted.id!)
            #expect(try await s.put("/fhir/Encounter/\(posted.id!)", .object(same)).code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: dr).code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aRegisteredPatientCannotLinkToAPatientOutOfCare(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let xu = try w.caller(w.practitioner, "user/*.cruds")
            func linked(to patient: String) -> JSON {
                j(#"{"resourceType":"Patient","name":[{"family":"New"}],"link":[{"other":{"reference":"Patient/\#(patient)"},"type":"seealso"}]}"#)
            }
            let out = try await s.post("/fhir/Patient", linked(to: w.pb), as: xu)
            #expect(out.code == 403 && out.issueCodes == ["forbidden"])
            #expect(try await s.post("/fhir/Patient", linked(to: w.pa), as: xu).code == 201)
            #expect(try await s.post("/fhir/Patient", j(#"{"resourceType":"Patient","name":[{"family":"Plain"}]}"#), as: xu).code == 201)
            // nothing of the refused one was kept
            #expect(try await s.get("/fhir/Patient?family=New&_total=accurate").total == 1)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func methodsOtherThanTheAPIsGet405AndHeadIsAGetWithoutBody(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let head = try await s.request(.head, "/fhir/metadata", as: .anonymous)
            #expect(head.code == 200 && head.text.isEmpty && head.headers[.contentType] == FHIRMedia.fhirJSON)
            #expect(try await s.request(.head, "/fhir/Patient", as: .anonymous).code == 401)
            #expect(try await s.request(.head, "/fhir/Patient").code == 200)
            for method in [HTTPRequest.Method.options, .trace, HTTPRequest.Method("PROPFIND")!] {
                let r = try await s.request(method, "/fhir/Patient", as: .anonymous)
                #expect(r.code == 405 && r.headers[.allow] == MethodMiddleware.allow && r.issueCodes == ["not-supported"], "\(method)")
            }
            #expect(try await s.request(.trace, "/api/status", as: .anonymous).headers[.contentType] == "application/problem+json")
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func auditSearchesRefuseParametersTheyWouldIgnore(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let r = try await s.get("/fhir/AuditEvent?foo=bar")
            #expect(r.code == 400 && r.issueCodes == ["not-supported"] && r.text.contains("'foo'"))
            #expect(try await s.get("/fhir/AuditEvent?subtype=read").code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func bundleEntriesAddressThisServerOnly(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            func bundle(_ url: String) -> JSON {
                j(#"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"\#(url)"},"resource":{"resourceType":"Patient"}}]}"#)
            }
            let foreign = try await s.post("/fhir", bundle("https://evil.example/fhir/Patient"))
            #expect(foreign.code == 400 && foreign.issueExpressions == ["Bundle.entry[0].request.url"])
            #expect(try await s.post("/fhir", bundle("http://localhost/fhir/Patient")).code == 200)
            #expect(try await s.post("/fhir", bundle("https://LOCALHOST/fhir/Patient")).code == 200)
            #expect(try await s.post("/fhir", bundle("Patient")).code == 200)
        }
    }

    @Test func everyEndpointCheckingASecretSharesTheSignInBudget() {
        for path in ["/login", "/login/mfa", "/login/enrol", "/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
            #expect(RateLimiter.isAuthentication(.post, path), "\(path)")
        }
        #expect(!RateLimiter.isAuthentication(.get, "/oauth/token") && !RateLimiter.isAuthentication(.post, "/fhir/Patient"))
    }
}
