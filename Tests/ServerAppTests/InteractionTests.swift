import FHIR
import Foundation
import HTTPTypes
import Kernel
import SQLKit
import ServerApp
import Storage
import TestSupport
import Testing

let patientJSON = j(
    #"{"resourceType":"Patient","identifier":[{"system":"urn:test:mrn","value":"MRN-1"}],"name":[{"family":"Zamora","given":["Inés"]}],"gender":"female","birthDate":"1980-04-02"}"#
)

@Suite struct InteractionTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func createReadVreadUpdateDeleteHistory(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            // create
            let created = try await s.post("/fhir/Patient", patientJSON)
            #expect(created.code == 201)
            let id = try #require(created.id)
            #expect(created.headers[.eTag] == "W/\"1\"")
            #expect(created.headers[.location]?.hasSuffix("/fhir/Patient/\(id)/_history/1") == true)
            #expect(created.headers[.lastModified] != nil)
            #expect(created["meta"]?["versionId"]?.stringValue == "1")
            #expect(created["name"]?.arrayValue?.first?["given"]?.arrayValue?.first?.stringValue == "Inés")

            // read
            let read = try await s.get("/fhir/Patient/\(id)")
            #expect(read.code == 200)
            #expect(read.headers[.contentType]?.hasPrefix("application/fhir+json") == true)
            #expect(read["birthDate"]?.stringValue == "1980-04-02")

            // update with the right version
            var changed = read.body!.objectValue!
            changed["gender"] = .string("other")
            let updated = try await s.put("/fhir/Patient/\(id)", .object(changed), headers: [.ifMatch: "W/\"1\""])
            #expect(updated.code == 200)
            #expect(updated.headers[.eTag] == "W/\"2\"")

            // stale If-Match -> 412, nothing changes
            changed["gender"] = .string("male")
            let stale = try await s.put("/fhir/Patient/\(id)", .object(changed), headers: [.ifMatch: "W/\"1\""])
            #expect(stale.code == 412)
            #expect(stale.issueCodes == ["conflict"])
            #expect(try await s.get("/fhir/Patient/\(id)")["gender"]?.stringValue == "other")

            // vread both versions
            #expect(try await s.get("/fhir/Patient/\(id)/_history/1")["gender"]?.stringValue == "female")
            #expect(try await s.get("/fhir/Patient/\(id)/_history/2")["gender"]?.stringValue == "other")
            #expect(try await s.get("/fhir/Patient/\(id)/_history/3").code == 404)

            // delete -> 410, history keeps all three
            #expect(try await s.request(.delete, "/fhir/Patient/\(id)").code == 204)
            let gone = try await s.get("/fhir/Patient/\(id)")
            #expect(gone.code == 410)
            #expect(gone.issueCodes == ["deleted"])
            let history = try await s.get("/fhir/Patient/\(id)/_history")
            #expect(history["type"]?.stringValue == "history")
            #expect(history.total == 3)
            #expect(history.entries.map { $0["response"]?["etag"]?.stringValue } == ["W/\"3\"", "W/\"2\"", "W/\"1\""])
            #expect(history.entries.map { $0["request"]?["method"]?.stringValue } == ["DELETE", "PUT", "POST"])
            #expect(history.entries[0]["resource"] == nil)

            // create-on-update with a client id, then type and system history
            var second = patientJSON.objectValue!
            second["id"] = .string("client-chosen")
            let put = try await s.put("/fhir/Patient/client-chosen", .object(second))
            #expect(put.code == 201)
            #expect(try await s.get("/fhir/Patient/_history").total == 4)
            #expect(try await s.get("/fhir/_history?_count=2").entries.count == 2)
            let since = try await s.get("/fhir/_history?_since=2100-01-01T00:00:00Z")
            #expect(since.total == 0)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func preferHeaderShapesTheResponse(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let minimal = try await s.post("/fhir/Patient", patientJSON, headers: [HTTPField.Name("Prefer")!: "return=minimal"])
            #expect(minimal.code == 201)
            #expect(minimal.text.isEmpty)
            #expect(minimal.headers[.location] != nil)
            let outcome = try await s.post("/fhir/Patient", patientJSON, headers: [HTTPField.Name("Prefer")!: "return=OperationOutcome"])
            #expect(outcome["resourceType"]?.stringValue == "OperationOutcome")
            let full = try await s.post("/fhir/Patient", patientJSON, headers: [HTTPField.Name("Prefer")!: "return=representation"])
            #expect(full["resourceType"]?.stringValue == "Patient")
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func conditionalCreateUpdateDelete(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let ifNoneExist = HTTPField.Name("If-None-Exist")!
            let first = try await s.post("/fhir/Patient", patientJSON, headers: [ifNoneExist: "identifier=urn:test:mrn|MRN-1"])
            #expect(first.code == 201)
            let again = try await s.post("/fhir/Patient", patientJSON, headers: [ifNoneExist: "identifier=urn:test:mrn|MRN-1"])
            #expect(again.code == 200)
            #expect(again.id == first.id)
            #expect(try await s.searchIDs("Patient?identifier=urn:test:mrn|MRN-1").count == 1)

            // conditional update finds the one match
            var changed = patientJSON.objectValue!
            changed["gender"] = .string("unknown")
            let updated = try await s.put("/fhir/Patient?identifier=urn:test:mrn|MRN-1", .object(changed))
            #expect(updated.code == 200)
            #expect(updated.id == first.id)
            #expect(updated["meta"]?["versionId"]?.stringValue == "2")
            // ... and creates when nothing matches
            var other = patientJSON.objectValue!
            other["identifier"] = j(#"[{"system":"urn:test:mrn","value":"MRN-404"}]"#)
            let createdByCondition = try await s.put("/fhir/Patient?identifier=urn:test:mrn|MRN-404", .object(other))
            #expect(createdByCondition.code == 201)

            // two matches -> 412 for create and update
            let twice = try await s.post("/fhir/Patient", patientJSON, headers: [ifNoneExist: "family=Zamora"])
            #expect(twice.code == 412)
            #expect(try await s.put("/fhir/Patient?family=Zamora", .object(changed)).code == 412)

            // conditional delete: refused for two matches, done for one, a no-op for none
            #expect(try await s.request(.delete, "/fhir/Patient?family=Zamora").code == 412)
            #expect(try await s.request(.delete, "/fhir/Patient?identifier=urn:test:mrn|MRN-1").code == 204)
            #expect(try await s.get("/fhir/Patient/\(first.id!)").code == 410)
            #expect(try await s.request(.delete, "/fhir/Patient?identifier=urn:test:mrn|MRN-1").code == 204)
            #expect(try await s.searchIDs("Patient?family=Zamora").count == 1)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func jsonPatch(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let id = try await s.create(patientJSON)
            let patch = #"[{"op":"replace","path":"/gender","value":"male"},{"op":"add","path":"/name/0/given/-","value":"María"}]"#
            let reply = try await s.request(.patch, "/fhir/Patient/\(id)", body: patch, headers: [.contentType: "application/json-patch+json", .ifMatch: "W/\"1\""])
            #expect(reply.code == 200)
            #expect(reply["gender"]?.stringValue == "male")
            #expect(reply["name"]?.arrayValue?.first?["given"]?.arrayValue?.compactMap(\.stringValue) == ["Inés", "María"])
            // a patch that makes the resource invalid is refused and stores nothing
            let bad = try await s.request(
                .patch, "/fhir/Patient/\(id)", body: #"[{"op":"replace","path":"/gender","value":"mal"}]"#, headers: [.contentType: "application/json-patch+json"])
            #expect(bad.code == 422)
            #expect(try await s.get("/fhir/Patient/\(id)")["meta"]?["versionId"]?.stringValue == "2")
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func badInputGetsOperationOutcomesAndStoresNothing(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            // malformed JSON -> 400
            let malformed = try await s.request(.post, "/fhir/Patient", body: #"{"resourceType":"Patient","#, headers: [.contentType: "application/fhir+json"])
            #expect(malformed.code == 400)
            #expect(malformed.issueCodes == ["structure"])
            #expect(malformed["issue"]?.arrayValue?.first?["diagnostics"]?.stringValue?.contains("line 1") == true)

            // invalid resource -> 422 naming every problem with its path
            let invalid = try await s.post("/fhir/Patient", j(#"{"resourceType":"Patient","birthDate":"02/04/1980","gender":"mal","name":{"family":"X"},"colour":"blue"}"#))
            #expect(invalid.code == 422)
            #expect(Set(invalid.issueExpressions) == ["Patient.birthDate", "Patient.gender", "Patient.name", "Patient.colour"])
            #expect(!invalid.text.contains("02/04/1980"))
            #expect(try await s.get("/fhir/Patient").total == 0)

            // wrong type for the URL, unknown type, bad id
            #expect(try await s.post("/fhir/Observation", patientJSON).code == 400)
            #expect(try await s.post("/fhir/Spaceship", patientJSON).code == 404)
            #expect(try await s.get("/fhir/Patient/not_valid!").code == 400)
            #expect(try await s.get("/fhir/Patient/unknown-id").code == 404)

            // update without or with another id -> 400
            #expect(try await s.put("/fhir/Patient/abc", patientJSON).code == 400)

            // XML -> 415, unsupported method -> 405
            let xml = try await s.request(.post, "/fhir/Patient", body: "<Patient/>", headers: [.contentType: "application/fhir+xml"])
            #expect(xml.code == 415)
            #expect(xml["resourceType"]?.stringValue == "OperationOutcome")
            #expect(try await s.get("/fhir/Patient?_format=xml").code == 415)
            #expect(try await s.request(.post, "/fhir/Patient/abc").code == 405)
            #expect(try await s.request(.delete, "/fhir/metadata").code == 405)
            #expect(try await s.get("/fhir/Patient").total == 0)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func concurrentUpdatesWithTheSameIfMatchGiveOne200AndOne412(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let id = try await s.create(patientJSON)
            var body = patientJSON.objectValue!
            body["id"] = .string(id)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for gender in ["male", "other"] {
                    var b = body
                    b["gender"] = .string(gender)
                    let payload = JSON.object(b)
                    group.addTask { try await s.put("/fhir/Patient/\(id)", payload, headers: [.ifMatch: "W/\"1\""]).code }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.sorted() == [200, 412])
            #expect(try await s.get("/fhir/Patient/\(id)/_history").total == 2)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func contentIsEncryptedAtRest(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            _ = try await s.create(patientJSON)
            let rows = try await s.services.database.read { db in
                try await db.raw(
                    "SELECT key_id, content FROM hh_resource UNION ALL SELECT key_id, content FROM hh_resource_history UNION ALL SELECT key_id, content FROM hh_audit_event"
                ).all()
            }
            #expect(rows.count == 3)  // the Patient (current and history rows) and its AuditEvent
            for row in rows {
                let content = try row.decode(column: "content", as: Data.self)
                #expect(content.count > 28)
                #expect(!String(decoding: content, as: UTF8.self).contains("Zamora"))
                #expect(!String(decoding: content, as: UTF8.self).contains("resourceType"))
                #expect(try row.decode(column: "key_id", as: String.self).hasPrefix("dk-"))
            }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func capabilityStatementListsWhatIsSupported(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let cs = try await s.get("/fhir/metadata")
            #expect(cs.code == 200)
            #expect(cs["fhirVersion"]?.stringValue == "4.0.1")
            let resources = cs["rest"]?.arrayValue?.first?["resource"]?.arrayValue ?? []
            #expect(resources.count == 146)  // the concrete resource types of R4 4.0.1
            let patient = try #require(resources.first { $0["type"]?.stringValue == "Patient" })
            let params = Set(patient["searchParam"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            #expect(params.isSuperset(of: ["family", "birthdate", "identifier", "general-practitioner", "_id", "_lastUpdated"]))
            #expect(!params.contains("_text"))  // special: not supported, so not listed
            let observation = try #require(resources.first { $0["type"]?.stringValue == "Observation" })
            let obsParams = Set(observation["searchParam"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            #expect(!obsParams.contains("code-value-quantity"))  // composite: not supported
            #expect(obsParams.contains("value-quantity"))
        }
    }
}
