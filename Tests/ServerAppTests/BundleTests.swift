import FHIR
import Foundation
import HTTPTypes
import Kernel
import TestSupport
import Testing

@Suite struct BundleTests {
    static let practitionerBatch = j(
        #"""
        {"resourceType":"Bundle","type":"batch","entry":[
          {"resource":{"resourceType":"Practitioner","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999900001"}],"name":[{"family":"Osler"}]},
           "request":{"method":"POST","url":"Practitioner","ifNoneExist":"identifier=http://hl7.org/fhir/sid/us-npi|9999900001"}}]}
        """#)

    static func patientTransaction(badObservation: Bool = false) -> JSON {
        j(
            #"""
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111",
               "resource":{"resourceType":"Patient","name":[{"family":"Bundled"}],"generalPractitioner":[{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999900001"}]},
               "request":{"method":"POST","url":"Patient"}},
              {"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222",
               "resource":{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
                           "subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"}},
               "request":{"method":"POST","url":"Encounter"}},
              {"resource":{"resourceType":"Observation","status":"\#(badObservation ? "done" : "final")","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
                           "subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},
                           "encounter":{"reference":"urn:uuid:22222222-2222-4222-8222-222222222222"},
                           "valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}},
               "request":{"method":"POST","url":"Observation"}}]}
            """#)
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aBundleIsNotUnboundedWork(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let read = #"{"request":{"method":"GET","url":"Observation?_count=1000&_include=*"}}"#
            let many = try await s.post("/fhir", j(#"{"resourceType":"Bundle","type":"batch","entry":[\#(Array(repeating: read, count: 101).joined(separator: ","))]}"#))
            #expect(many.code == 400 && many.issueCodes == ["too-costly"])
            let fine = try await s.post("/fhir", j(#"{"resourceType":"Bundle","type":"batch","entry":[\#(Array(repeating: read, count: 100).joined(separator: ","))]}"#))
            #expect(fine.code == 200 && fine.entries.count == 100)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func batchReadsTheVersionItNames(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let id = try await s.create(j(#"{"resourceType":"Observation","status":"preliminary","code":{"text":"first"}}"#))
            #expect(try await s.put("/fhir/Observation/\(id)", j(#"{"resourceType":"Observation","id":"\#(id)","status":"final","code":{"text":"second"}}"#)).code == 200)
            let reply = try await s.post(
                "/fhir",
                j(
                    #"""
                    {"resourceType":"Bundle","type":"batch","entry":[
                      {"request":{"method":"GET","url":"Observation/\#(id)/_history/1"}},
                      {"request":{"method":"GET","url":"Observation/\#(id)"}},
                      {"request":{"method":"GET","url":"Observation/\#(id)/_history"}},
                      {"request":{"method":"GET","url":"Observation/\#(id)/_history/9"}}]}
                    """#))
            #expect(reply.code == 200)
            let entries = reply.entries
            #expect(entries.count == 4)
            #expect(entries[0]["resource"]?["code"]?["text"]?.stringValue == "first")
            #expect(entries[0]["resource"]?["meta"]?["versionId"]?.stringValue == "1")
            #expect(entries[1]["resource"]?["code"]?["text"]?.stringValue == "second")
            #expect(entries[2]["response"]?["status"]?.stringValue?.hasPrefix("400") == true)
            #expect(entries[3]["response"]?["status"]?.stringValue?.hasPrefix("404") == true)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func transactionResolvesUUIDAndConditionalReferences(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            // given: the practitioner, loaded twice through ifNoneExist (second time: 200, same id)
            let batch1 = try await s.post("/fhir", Self.practitionerBatch)
            let batch2 = try await s.post("/fhir", Self.practitionerBatch)
            #expect(batch1["type"]?.stringValue == "batch-response")
            #expect(batch1.entries.first?["response"]?["status"]?.stringValue == "201 Created")
            #expect(batch2.entries.first?["response"]?["status"]?.stringValue == "200 OK")
            let practitionerID = try #require(try await s.searchIDs("Practitioner?identifier=9999900001").first)

            // when
            let reply = try await s.post("/fhir", Self.patientTransaction())

            // then
            #expect(reply.code == 200)
            #expect(reply["type"]?.stringValue == "transaction-response")
            #expect(reply.entries.compactMap { $0["response"]?["status"]?.stringValue } == ["201 Created", "201 Created", "201 Created"])
            let locations = reply.entries.compactMap { $0["response"]?["location"]?.stringValue }
            #expect(locations.count == 3 && locations[0].hasPrefix("Patient/") && locations[2].hasSuffix("/_history/1"))
            #expect(reply.entries.allSatisfy { $0["response"]?["etag"]?.stringValue == "W/\"1\"" })
            let patientID = String(locations[0].split(separator: "/")[1])
            let encounterID = String(locations[1].split(separator: "/")[1])
            let observation = try await s.get("/fhir/" + locations[2].components(separatedBy: "/_history")[0])
            #expect(observation["subject"]?["reference"]?.stringValue == "Patient/\(patientID)")
            #expect(observation["encounter"]?["reference"]?.stringValue == "Encounter/\(encounterID)")
            let patient = try await s.get("/fhir/Patient/\(patientID)")
            #expect(patient["generalPractitioner"]?.arrayValue?.first?["reference"]?.stringValue == "Practitioner/\(practitionerID)")
            #expect(try await s.searchIDs("Observation?subject=Patient/\(patientID)").count == 1)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func transactionWithOneBadEntryStoresNothing(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            try await s.post("/fhir", Self.practitionerBatch)
            let reply = try await s.post("/fhir", Self.patientTransaction(badObservation: true))
            #expect(reply.code == 422)
            #expect(reply.issueExpressions == ["Bundle.entry[2].resource.status"])
            #expect(try await s.get("/fhir/Patient").total == 0)
            #expect(try await s.get("/fhir/Encounter").total == 0)
            #expect(try await s.get("/fhir/_history").total == 1)  // only the practitioner
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func unresolvableConditionalReferenceFailsTheTransaction(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            // no practitioner loaded: the conditional reference matches nothing
            let reply = try await s.post("/fhir", Self.patientTransaction())
            #expect(reply.code == 412)
            #expect(reply.issueExpressions == ["Bundle.entry[0]"])
            #expect(try await s.get("/fhir/_history").total == 0)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func batchEntriesSucceedOrFailOnTheirOwn(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let id = try await s.create(patientJSON)
            let batch = j(
                #"""
                {"resourceType":"Bundle","type":"batch","entry":[
                  {"request":{"method":"GET","url":"Patient/\#(id)"}},
                  {"resource":{"resourceType":"Patient","gender":"nope"},"request":{"method":"POST","url":"Patient"}},
                  {"request":{"method":"GET","url":"Patient?family=Zamora"}},
                  {"request":{"method":"DELETE","url":"Patient/\#(id)"}},
                  {"request":{"method":"GET","url":"Patient/missing"}}]}
                """#)
            let reply = try await s.post("/fhir", batch)
            #expect(reply.code == 200)
            let statuses = reply.entries.compactMap { $0["response"]?["status"]?.stringValue }
            #expect(statuses == ["200 OK", "422 Unprocessable Content", "200 OK", "204 No Content", "404 Not Found"])
            #expect(reply.entries[0]["resource"]?["id"]?.stringValue == id)
            #expect(reply.entries[2]["resource"]?["total"]?.numberText == "1")
            #expect(reply.entries[1]["response"]?["outcome"]?["resourceType"]?.stringValue == "OperationOutcome")
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func conditionalUpdatesCanBeReferencedByFullUrl(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let existing = try await s.create(patientJSON)  // identifier urn:test:mrn|MRN-1
            let bundle = j(
                #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333",
                   "resource":{"resourceType":"Patient","identifier":[{"system":"urn:test:mrn","value":"MRN-1"}],"gender":"other"},
                   "request":{"method":"PUT","url":"Patient?identifier=urn:test:mrn|MRN-1"}},
                  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:33333333-3333-4333-8333-333333333333"}},
                   "request":{"method":"POST","url":"Observation"}}]}
                """#)
            let reply = try await s.post("/fhir", bundle)
            #expect(reply.code == 200)
            #expect(reply.entries.compactMap { $0["response"]?["status"]?.stringValue } == ["200 OK", "201 Created"])
            #expect(try await s.get("/fhir/Patient/\(existing)")["gender"]?.stringValue == "other")
            #expect(try await s.searchIDs("Observation?subject=Patient/\(existing)").count == 1)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func transactionChangingOneResourceTwiceIsAConflict(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let bundle = j(
                #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"resource":{"resourceType":"Patient","id":"twice","gender":"male"},"request":{"method":"PUT","url":"Patient/twice"}},
                  {"resource":{"resourceType":"Patient","id":"twice","gender":"female"},"request":{"method":"PUT","url":"Patient/twice"}}]}
                """#)
            let reply = try await s.post("/fhir", bundle)
            #expect(reply.code == 409)
            #expect(reply.issueCodes == ["conflict"])
            #expect(reply.issueExpressions == ["Bundle.entry[1]"])
            #expect(try await s.get("/fhir/Patient/twice").code == 404)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func bundleTypeMustBeBatchOrTransaction(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let reply = try await s.post("/fhir", j(#"{"resourceType":"Bundle","type":"collection"}"#))
            #expect(reply.code == 400)
            #expect(reply.issueExpressions == ["Bundle.type"])
        }
    }
}
