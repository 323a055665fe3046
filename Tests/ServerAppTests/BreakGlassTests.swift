import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Break-glass lifts the compartment limit for one request, and only for that request.
@Suite struct BreakGlassTests {
    static func reason(_ text: String) -> HTTPFields { [HTTPField.Name("X-Break-Glass-Reason")!: text] }

    @Test(arguments: TestDatabaseKind.allCases)
    func aCareRelationshipMadeUnderBreakGlassGrantsNothing(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let dr = try await w.young()
            let emergency = Self.reason("unconscious patient in the emergency department")
            #expect(try await s.get("/fhir/Patient/\(w.pb)", as: dr).code == 403)
            // under break-glass: an Encounter naming themselves, by POST, by PUT and in a transaction
            func encounterJSON(id: String? = nil) -> JSON {
                let idField = id.map { #""id":"\#($0)","# } ?? ""
                return j(
                    #"{"resourceType":"Encounter",\#(idField)"status":"in-progress","class":{"code":"EMER"},"subject":{"reference":"Patient/\#(w.pb)"},"participant":[{"individual":{"reference":"Practitioner/\#(w.pry)"}}]}"#
                )
            }
            let encounter = encounterJSON()
            let posted = try await s.post("/fhir/Encounter", encounter, headers: emergency, as: dr)
            #expect(posted.code == 201)
            let team = j(
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"CareTeam"},"resource":{"resourceType":"CareTeam","subject":{"reference":"Patient/\#(w.pb)"},"participant":[{"member":{"reference":"Practitioner/\#(w.pry)"}}]}}]}"#
            )
            #expect(try await s.post("/fhir", team, headers: emergency, as: dr).code == 200)
            #expect(try await s.put("/fhir/Encounter/bg-encounter-1", encounterJSON(id: "bg-encounter-1"), headers: emergency, as: dr).code == 201)
            // ... and without it, still no access: the emergency did not become a care relationship
            #expect(try await s.get("/fhir/Patient/\(w.pb)", as: dr).code == 403)
            #expect(try await s.get("/fhir/Observation/\(w.obsB)", as: dr).code == 403)
            #expect(try await s.get("/fhir/Patient?_total=accurate", as: dr).total == 0)
            // the same Encounter written with ordinary access (a backend service) grants it
            let again = try await s.put("/fhir/Encounter/\(posted.id!)", encounterJSON(id: posted.id!))
            #expect(again.code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pb)", as: dr).code == 200)
            // and an ordinary CareTeam made by the practitioner's colleague with access is not affected
            let xu = try w.caller(w.practitioner, "user/*.cruds")
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: xu).code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func theReasonMustBeRealText(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let dr = try w.caller(w.practitioner, "user/*.cruds")
            for padding in ["    ", "a          ", "\t\t\t\t", "....----", "x\u{200B}\u{200B}\u{200B}\u{200B}", "ab  c"] {
                let r = try await s.get("/fhir/Patient/\(w.pb)", headers: Self.reason(padding), as: dr)
                #expect(r.code == 400, "\(padding.unicodeScalars.map { String($0.value, radix: 16) })")
            }
            #expect(try await s.get("/fhir/Patient/\(w.pb)", headers: Self.reason("cardiac arrest, bay 3"), as: dr).code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pb)", headers: Self.reason(String(repeating: "a", count: 501)), as: dr).code == 400)
        }
    }
}
