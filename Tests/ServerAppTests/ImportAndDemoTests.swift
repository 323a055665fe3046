import Demo
import FHIR
import Foundation
import Kernel
import ServerApp
import TestSupport
import Testing

@Suite struct ImportAndDemoTests {
    static func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hh-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func importReportsEachFailureByFileAndKeepsNothingOfAFailedTransaction(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            // given: a good NDJSON file, a transaction with one invalid entry, and broken JSON
            let dir = try Self.folder([
                "a-good.ndjson": #"{"resourceType":"Patient","id":"nd-1","gender":"male"}"# + "\n" + #"{"resourceType":"Patient","id":"nd-2","gender":"female"}"# + "\n",
                "b-bad-transaction.json":
                    #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","name":[{"family":"Kept"}]},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Patient","gender":"robot"},"request":{"method":"POST","url":"Patient"}}]}"#,
                "c-broken.json": #"{"resourceType":"Bundle","#,
                "notes.txt": "ignored",
            ])
            // when
            let files = try ResourceImporter.files(in: [dir.path])
            let summary = await ResourceImporter(fhir: s.services.fhir).run(files)
            // then
            #expect(files.map { ($0 as NSString).lastPathComponent } == ["a-good.ndjson", "b-bad-transaction.json", "c-broken.json"])
            #expect(summary.resources == 2)
            #expect(summary.byType == ["Patient": 2])
            #expect(summary.failures.map { ($0.file as NSString).lastPathComponent } == ["b-bad-transaction.json", "c-broken.json"])
            #expect(summary.failures[0].reason.contains("422"))
            #expect(summary.failures[0].reason.contains("Bundle.entry[1].resource.gender"))
            #expect(summary.failures[1].reason.contains("line 1"))
            #expect(try await s.get("/fhir/Patient/nd-2")["gender"]?.stringValue == "female")
            #expect(try await s.searchIDs("Patient?family=Kept").isEmpty)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func importingTheSameNDJSONTwiceMakesNewVersionsNotDuplicates(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let dir = try Self.folder(["p.ndjson": #"{"resourceType":"Patient","id":"same","gender":"male"}"# + "\n"])
            let importer = ResourceImporter(fhir: s.services.fhir)
            _ = await importer.run(try ResourceImporter.files(in: [dir.path]))
            _ = await importer.run(try ResourceImporter.files(in: [dir.path]))
            #expect(try await s.get("/fhir/Patient?_summary=count").total == 1)
            #expect(try await s.get("/fhir/Patient/same")["meta"]?["versionId"]?.stringValue == "2")
        }
    }

    /// The date (YYYY-MM-DD) of the Monday after the next (a whole working day inside the horizon).
    static func nextMonday() -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/New_York")!
        let now = Now.date
        let weekday = calendar.component(.weekday, from: now)  // 1 = Sunday
        let ahead = (9 - weekday) % 7 + 7
        let day = calendar.date(byAdding: .day, value: ahead, to: now)!
        let c = calendar.dateComponents([.year, .month, .day], from: day)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func demoPopulationLoadsRealisticLinkedRecords(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let written = try await DemoLoader(fhir: s.services.fhir).load(patients: 3, seed: 7)
            #expect(try await s.get("/fhir/Patient?_summary=count").total == 3)
            for type in ["Encounter", "Observation", "Condition", "Immunization", "Practitioner", "Organization"] {
                #expect((try await s.get("/fhir/\(type)?_summary=count").total ?? 0) > 0, "\(type)")
            }
            let all = try await s.get("/fhir/_history?_count=1").total ?? 0
            #expect(all == written)  // system history leaves out the audit trail

            // every observation points at one of the three patients, and vital signs are coded
            let patients = try await s.searchIDs("Patient")
            var linked = 0
            for p in patients {
                linked += try await s.get("/fhir/Observation?subject=Patient/\(p)&_summary=count").total ?? 0
                // each patient's load is audited as one event naming the patient
                let audit = try await s.get("/fhir/AuditEvent?entity=Patient/\(p)&subtype=demo").entries
                #expect(audit.count == 1)
            }
            #expect(linked == (try await s.get("/fhir/Observation?_summary=count").total))
            #expect((try await s.get("/fhir/Observation?category=vital-signs&code=http://loinc.org|8867-4&_summary=count").total ?? 0) > 0)
            // every practitioner has office hours, so a fresh demo offers times to book (weekdays,
            // seven hours a day, a 35-minute routine grid: 5 + 7 a day), and loading again adds none
            let practitioners = try await s.get("/fhir/Practitioner?_summary=count").total ?? 0
            #expect(try await s.get("/fhir/Schedule?_summary=count").total == practitioners)
            let one = try #require(try await s.searchIDs("Practitioner").first)
            let monday = Self.nextMonday()
            let found = try await s.get("/fhir/Appointment/$find?start=\(monday)T00:00:00Z&end=\(monday)T23:59:00Z&practitioner=\(one)")
            #expect(found.total == 12)
            _ = try await DemoLoader(fhir: s.services.fhir).load(patients: 0, seed: 7)
            #expect(try await s.get("/fhir/Schedule?_summary=count").total == practitioners)
            // the same seed gives the same people
            let again = DemoPopulation(seed: 7).patientBundle(index: 0)
            #expect(again == DemoPopulation(seed: 7).patientBundle(index: 0))
        }
    }
}
