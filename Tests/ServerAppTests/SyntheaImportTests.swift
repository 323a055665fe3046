import FHIR
import Foundation
import ServerApp
import TestSupport
import Testing

/// The shared Synthea set (120 patients, 92,114 resources), present on developer machines and
/// in CI but not in a user's clone. Expected numbers are computed here from the files with
/// Foundation's own JSON parser, never typed in.
enum SyntheaData {
    static let directory: URL? = {
        if let env = ProcessInfo.processInfo.environment["HEALTHHUB_SYNTHEA_DIR"] { return URL(fileURLWithPath: env) }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = repo.deletingLastPathComponent().appendingPathComponent("shared/testdata/synthea-r4-120")
        return FileManager.default.fileExists(atPath: dir.path) ? dir : nil
    }()

    /// Every file's Bundle, parsed independently of HealthHub's JSON code.
    static func bundles() throws -> [(name: String, bundle: [String: Any])] {
        try files().map { ($0.name, try JSONSerialization.jsonObject(with: $0.data) as! [String: Any]) }
    }

    /// Every file, decompressed.
    static func files() throws -> [(name: String, data: Data)] {
        guard let dir = directory else { return [] }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json.bz2") }.sorted()
        return try files.map { name in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["bzip2", "-dc", dir.appendingPathComponent(name).path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (name, data)
        }
    }
}

/// What the files say: counts per type and the expected total of each search, computed from
/// the raw files before the server sees them.
struct SyntheaExpectations: Sendable {
    var countByType: [String: Int] = [:]
    /// (search, expected total)
    var searches: [(String, Int)] = []
    var firstPatientSyntheaID = ""
    var firstPatientObservations = 0

    init(_ bundles: [(name: String, bundle: [String: Any])]) {
        var conditional: [String: Set<String>] = [:]
        var resources: [[String: Any]] = []
        var firstPatientFamily = ""
        var someNPI = ""
        for (_, bundle) in bundles {
            var patientInFile: String?
            var observationsInFile = 0
            for entry in bundle["entry"] as? [[String: Any]] ?? [] {
                guard let resource = entry["resource"] as? [String: Any], let type = resource["resourceType"] as? String else { continue }
                if let cond = (entry["request"] as? [String: Any])?["ifNoneExist"] as? String {
                    conditional[type, default: []].insert(cond)  // a repeated condition creates once
                } else {
                    countByType[type, default: 0] += 1
                }
                resources.append(resource)
                if type == "Patient" { patientInFile = resource["id"] as? String }
                if type == "Observation" { observationsInFile += 1 }
                if type == "Practitioner", someNPI.isEmpty {
                    someNPI = ((resource["identifier"] as? [[String: Any]])?.first?["value"] as? String) ?? ""
                }
                if type == "Patient", firstPatientFamily.isEmpty {
                    firstPatientFamily = (((resource["name"] as? [[String: Any]])?.first)?["family"] as? String) ?? ""
                }
            }
            if let p = patientInFile, firstPatientSyntheaID.isEmpty {
                firstPatientSyntheaID = p
                firstPatientObservations = observationsInFile
            }
        }
        for (type, set) in conditional { countByType[type, default: 0] += set.count }

        func count(_ type: String, where predicate: ([String: Any]) -> Bool) -> Int {
            resources.filter { $0["resourceType"] as? String == type && predicate($0) }.count
        }
        func codings(_ concept: Any?) -> [(String, String)] {
            ((concept as? [String: Any])?["coding"] as? [[String: Any]] ?? []).map { ($0["system"] as? String ?? "", $0["code"] as? String ?? "") }
        }
        let iso = ISO8601DateFormatter()
        func instant(_ text: Any?) -> Date? { (text as? String).flatMap { iso.date(from: $0) } }

        searches.append(("Patient?gender=female", count("Patient") { $0["gender"] as? String == "female" }))
        searches.append(("Patient?birthdate=lt1960-01-01", count("Patient") { ($0["birthDate"] as? String ?? "9999") < "1960-01-01" }))
        searches.append(("Observation?code=http://loinc.org|8302-2", count("Observation") { codings($0["code"]).contains { $0 == ("http://loinc.org", "8302-2") } }))
        let cutoff = iso.date(from: "2019-01-01T00:00:00Z")!
        searches.append(("Observation?date=ge2019-01-01T00:00:00Z", count("Observation") { instant($0["effectiveDateTime"]).map { $0 >= cutoff } ?? false }))
        searches.append(("Condition?clinical-status=resolved", count("Condition") { codings($0["clinicalStatus"]).contains { $0.1 == "resolved" } }))
        let yearStart = iso.date(from: "2015-01-01T00:00:00Z")!
        let yearEnd = iso.date(from: "2016-01-01T00:00:00Z")!
        searches.append(
            (
                "Encounter?date=2015",
                count("Encounter") { r in
                    let period = r["period"] as? [String: Any]
                    guard let start = instant(period?["start"]), let end = instant(period?["end"]) else { return false }
                    return start >= yearStart && end < yearEnd
                }
            ))
        searches.append(
            (
                "Immunization?vaccine-code=http://hl7.org/fhir/sid/cvx|140",
                count("Immunization") { codings($0["vaccineCode"]).contains { $0 == ("http://hl7.org/fhir/sid/cvx", "140") } }
            ))
        searches.append(("MedicationRequest?status=active", count("MedicationRequest") { $0["status"] as? String == "active" }))
        searches.append(
            (
                "Observation?value-quantity=gt100|http://unitsofmeasure.org|mg/dL",
                count("Observation") { r in
                    guard let q = r["valueQuantity"] as? [String: Any], let v = (q["value"] as? NSNumber)?.doubleValue else { return false }
                    return v > 100 && q["code"] as? String == "mg/dL" && q["system"] as? String == "http://unitsofmeasure.org"
                }
            ))
        searches.append(
            (
                "Patient?family=\(firstPatientFamily)",
                count("Patient") { r in
                    (r["name"] as? [[String: Any]] ?? []).contains { ($0["family"] as? String)?.lowercased().hasPrefix(firstPatientFamily.lowercased()) == true }
                }
            ))
        searches.append(("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|\(someNPI)", 1))
        searches.append(("Observation?subject:Patient.identifier=https://github.com/synthetichealth/synthea|\(firstPatientSyntheaID)", firstPatientObservations))
    }
}

@Suite(.serialized) struct SyntheaImportTests {
    @Test(
        .enabled(if: SyntheaData.directory != nil, "../shared/testdata/synthea-r4-120 is absent: the Synthea import test is skipped"),
        arguments: TestDatabaseKind.allCases)
    func importsTheSyntheaSetAndAnswersSearchesAsTheFilesSay(_ kind: TestDatabaseKind) async throws {
        let expected = SyntheaExpectations(try SyntheaData.bundles())
        #expect(expected.countByType.values.reduce(0, +) > 90_000)
        #expect(expected.searches.filter { $0.1 == 0 }.isEmpty, "every search must have matches to mean something: \(expected.searches.filter { $0.1 == 0 })")

        try await TestServer.run(kind) { s in
            // when: the CLI's importer loads the folder (the 0-*Information* files sort first)
            let files = try ResourceImporter.files(in: [SyntheaData.directory!.path])
            let summary = await ResourceImporter(fhir: s.services.fhir).run(files)

            // then: nothing failed and every type has the count the files give
            #expect(summary.failures.isEmpty, "\(summary.failures.prefix(3))")
            #expect(summary.files == 122)
            #expect(summary.resources == expected.countByType.values.reduce(0, +))
            for (type, count) in expected.countByType {
                #expect(try await s.get("/fhir/\(type)?_summary=count").total == count, "\(type)")
            }
            // and searches of every parameter kind agree with the files
            for (query, count) in expected.searches {
                #expect(try await s.get("/fhir/\(query)&_summary=count").total == count, "\(query)")
            }
            // the first patient's observations, by the server id its identifier gives
            let ids = try await s.searchIDs("Patient?identifier=https://github.com/synthetichealth/synthea|\(expected.firstPatientSyntheaID)")
            #expect(ids.count == 1)
            let pid = try #require(ids.first)
            #expect(try await s.get("/fhir/Observation?subject=Patient/\(pid)&_summary=count").total == expected.firstPatientObservations)
        }
    }
}
