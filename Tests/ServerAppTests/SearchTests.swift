import FHIR
import Foundation
import HTTPTypes
import Kernel
import TestSupport
import Testing

/// A small clinical world whose search answers are known by construction.
struct SearchFixture {
    var p1 = "", p2 = "", p3 = "", p4 = ""
    var pulse1 = "", glucose1 = "", pulse2 = "", periodObs = ""

    static func load(_ s: TestServer) async throws -> SearchFixture {
        var f = SearchFixture()
        f.p1 = try await s.create(
            j(
                #"{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"A1"}],"active":true,"name":[{"family":"Müller","given":["Anna"]}],"gender":"female","birthDate":"1970-05-10","address":[{"city":"Boston"}]}"#
            ))
        f.p2 = try await s.create(
            j(
                #"{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"B2"}],"active":false,"name":[{"family":"Muller","given":["Bob"]}],"gender":"male","birthDate":"1985-01-20"}"#
            ))
        f.p3 = try await s.create(
            j(
                #"{"resourceType":"Patient","identifier":[{"system":"urn:other","value":"C3"}],"name":[{"family":"Smith-Jones","given":["Carol"]}],"gender":"female","birthDate":"1985"}"#
            ))
        f.p4 = try await s.create(j(#"{"resourceType":"Patient","identifier":[{"value":"D4"}],"name":[{"family":"Okafor"}]}"#))
        func obs(_ patient: String, _ code: String, _ value: String, _ unit: String, _ effective: String) -> JSON {
            j(
                #"{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"\#(code)"}]},"subject":{"reference":"Patient/\#(patient)"},\#(effective),"valueQuantity":{"value":\#(value),"unit":"\#(unit)","system":"http://unitsofmeasure.org","code":"\#(unit)"}}"#
            )
        }
        f.pulse1 = try await s.create(obs(f.p1, "8867-4", "72", "/min", #""effectiveDateTime":"2021-03-05T10:00:00+01:00""#))
        f.glucose1 = try await s.create(obs(f.p1, "2339-0", "120.5", "mg/dL", #""effectiveDateTime":"2022-07-01""#))
        f.pulse2 = try await s.create(obs(f.p2, "8867-4", "64", "/min", #""effectiveDateTime":"2019-12-31T23:30:00Z""#))
        f.periodObs = try await s.create(obs(f.p2, "2339-0", "95", "mg/dL", #""effectivePeriod":{"start":"2021-02-10","end":"2021-04-15"}"#))
        _ = try await s.create(j(#"{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/\#(f.p1)"},"prediction":[{"probabilityDecimal":0.8}]}"#))
        _ = try await s.create(j(#"{"resourceType":"ValueSet","status":"active","url":"http://example.org/vs/one"}"#))
        _ = try await s.create(j(#"{"resourceType":"ValueSet","status":"draft","url":"http://example.org/vs/two"}"#))
        return f
    }
}

@Suite struct SearchTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func stringTokenAndMissing(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let f = try await SearchFixture.load(s)
            func ids(_ q: String) async throws -> Set<String> { Set(try await s.searchIDs(q)) }
            // string: prefix, case- and accent-insensitive; :exact; :contains
            #expect(try await ids("Patient?family=mull") == [f.p1, f.p2])
            #expect(try await ids("Patient?family:exact=Müller") == [f.p1])
            #expect(try await ids("Patient?family:exact=müller") == [])
            #expect(try await ids("Patient?family:contains=JON") == [f.p3])
            #expect(try await ids("Patient?name=anna") == [f.p1])
            #expect(try await ids("Patient?address-city=bos") == [f.p1])
            // token forms and :not
            #expect(try await ids("Patient?gender=female") == [f.p1, f.p3])
            #expect(try await ids("Patient?identifier=urn:sys|A1") == [f.p1])
            #expect(try await ids("Patient?identifier=A1") == [f.p1])
            #expect(try await ids("Patient?identifier=urn:sys|") == [f.p1, f.p2])
            #expect(try await ids("Patient?identifier=|D4") == [f.p4])
            #expect(try await ids("Patient?identifier=|C3") == [])
            #expect(try await ids("Patient?gender:not=female") == [f.p2, f.p4])
            #expect(try await ids("Patient?active=true") == [f.p1])
            // :missing
            #expect(try await ids("Patient?active:missing=true") == [f.p3, f.p4])
            #expect(try await ids("Patient?active:missing=false") == [f.p1, f.p2])
            // comma = OR, repeated = AND
            #expect(try await ids("Patient?gender=male,female") == [f.p1, f.p2, f.p3])
            #expect(try await ids("Patient?family=mull&gender=male") == [f.p2])
            #expect(try await ids("Patient?gender=female&gender=male") == [])
            // _id and _lastUpdated
            #expect(try await ids("Patient?_id=\(f.p1),\(f.p2)") == [f.p1, f.p2])
            #expect(try await ids("Patient?_lastUpdated=gt2000-01-01") == [f.p1, f.p2, f.p3, f.p4])
            #expect(try await ids("Patient?_lastUpdated=lt2000-01-01") == [])
            // uri
            #expect(try await ids("ValueSet?url=http://example.org/vs/one").count == 1)
            #expect(try await ids("ValueSet?url:below=http://example.org/vs").count == 2)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func datePrefixesAndPartialDates(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let f = try await SearchFixture.load(s)
            func ids(_ q: String) async throws -> Set<String> { Set(try await s.searchIDs(q)) }
            #expect(try await ids("Patient?birthdate=1985") == [f.p2, f.p3])
            #expect(try await ids("Patient?birthdate=1985-01") == [f.p2])
            #expect(try await ids("Patient?birthdate=eq1970-05-10") == [f.p1])
            #expect(try await ids("Patient?birthdate=ne1985") == [f.p1])
            #expect(try await ids("Patient?birthdate=lt1980") == [f.p1])
            #expect(try await ids("Patient?birthdate=le1985-01-20") == [f.p1, f.p2, f.p3])
            #expect(try await ids("Patient?birthdate=gt1985-06-01") == [f.p3])
            #expect(try await ids("Patient?birthdate=ge1985-01-20") == [f.p2, f.p3])
            #expect(try await ids("Patient?birthdate=sa1980") == [f.p2, f.p3])
            #expect(try await ids("Patient?birthdate=eb1980") == [f.p1])
            #expect(try await ids("Patient?birthdate=ap1970-05-11") == [f.p1])
            // dateTime with time zone: 2021-03-05T10:00+01:00 is 09:00Z
            #expect(try await ids("Observation?date=2021-03-05") == [f.pulse1])
            #expect(try await ids("Observation?date=gt2021-03-05T09:30:00Z") == [f.glucose1, f.periodObs])
            // 2019-12-31T23:30Z belongs to 2019, not 2020
            #expect(try await ids("Observation?date=2019") == [f.pulse2])
            // Period: within March? no (Feb..Apr); overlapping from April on? yes
            #expect(try await ids("Observation?date=2021-03") == [f.pulse1])
            #expect(try await ids("Observation?date=ge2021-04-01") == [f.glucose1, f.periodObs])
            #expect(try await ids("Observation?date=lt2021-02-11") == [f.pulse2, f.periodObs])
            // and combined
            #expect(try await ids("Observation?date=ge2021&date=lt2022") == [f.pulse1, f.periodObs])
            // an unparseable date is a 400 naming the parameter
            let bad = try await s.get("/fhir/Patient?birthdate=yesterday")
            #expect(bad.code == 400)
            #expect(bad.text.contains("birthdate"))
            #expect(!bad.text.contains("yesterday"))  // search values are not echoed
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func referenceQuantityNumberAndChains(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let f = try await SearchFixture.load(s)
            func ids(_ q: String) async throws -> Set<String> { Set(try await s.searchIDs(q)) }
            let p1Obs: Set<String> = [f.pulse1, f.glucose1]
            #expect(try await ids("Observation?subject=Patient/\(f.p1)") == p1Obs)
            #expect(try await ids("Observation?subject=\(f.p1)") == p1Obs)
            #expect(try await ids("Observation?patient=\(f.p1)") == p1Obs)
            #expect(try await ids("Observation?subject:Patient=\(f.p1)") == p1Obs)
            #expect(try await ids("Observation?subject:Group=\(f.p1)") == [])
            #expect(try await ids("Observation?subject=http://elsewhere.example/fhir/Patient/\(f.p1)") == p1Obs)
            #expect(try await ids("Observation?patient=\(f.p1)&code=http://loinc.org|8867-4") == [f.pulse1])
            // chains
            #expect(try await ids("Observation?subject:Patient.family=muller&code=8867-4") == [f.pulse1, f.pulse2])
            #expect(try await ids("Observation?patient.identifier=urn:sys|B2") == [f.pulse2, f.periodObs])
            // quantity with implicit precision, prefixes, system and code
            #expect(try await ids("Observation?value-quantity=72") == [f.pulse1])
            #expect(try await ids("Observation?value-quantity=120.5|http://unitsofmeasure.org|mg/dL") == [f.glucose1])
            #expect(try await ids("Observation?value-quantity=gt100|http://unitsofmeasure.org|mg/dL") == [f.glucose1])
            #expect(try await ids("Observation?value-quantity=lt80||/min") == [f.pulse1, f.pulse2])
            #expect(try await ids("Observation?value-quantity=120") == [])
            // number
            #expect(try await ids("RiskAssessment?probability=0.8").count == 1)
            #expect(try await ids("RiskAssessment?probability=gt0.9").isEmpty)
            // unsupported modifier -> 400
            #expect(try await s.get("/fhir/Observation?code:below=8867").code == 400)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func pagingSortingTotalsAndSummaries(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let f = try await SearchFixture.load(s)
            // stable paging: follow next links, every match exactly once
            var seen: [String] = []
            var url: String? = "/fhir/Observation?_count=3&_total=accurate"
            var pages = 0
            while let next = url {
                let page = try await s.get(next)
                #expect(page.total == 4)
                seen += page.entries.compactMap { $0["resource"]?["id"]?.stringValue }
                url = page["link"]?.arrayValue?.first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue
                    .map { "/fhir/" + $0.components(separatedBy: "/fhir/")[1] }
                if pages == 1 { #expect(page["link"]?.arrayValue?.contains { $0["relation"]?.stringValue == "previous" } == true) }
                pages += 1
            }
            #expect(pages == 2)
            #expect(Set(seen) == [f.pulse1, f.glucose1, f.pulse2, f.periodObs])
            #expect(seen.count == 4)
            // _sort, several keys, descending
            // ascending sorts by the start of each date's range: 1985 starts before 1985-01-20
            #expect(try await s.searchIDs("Patient?_sort=birthdate") == [f.p1, f.p3, f.p2, f.p4])
            #expect(try await s.searchIDs("Patient?_sort=-birthdate") == [f.p3, f.p2, f.p1, f.p4])
            #expect(try await s.searchIDs("Patient?_sort=gender,-birthdate&gender=male,female") == [f.p3, f.p1, f.p2])
            // _total: free when the page holds the end, counted on request, omitted for none
            #expect(try await s.get("/fhir/Patient?_count=10").total == 4)
            #expect(try await s.get("/fhir/Patient?_count=2").total == nil)
            #expect(try await s.get("/fhir/Patient?_count=2&_total=accurate").total == 4)
            #expect(try await s.get("/fhir/Patient?_count=2&_offset=2").total == 4)
            #expect(try await s.get("/fhir/Patient?_total=none").total == nil)
            #expect(try await s.get("/fhir/Patient?_count=0").total == nil)
            #expect(try await s.get("/fhir/Patient?_count=0&_total=accurate").total == 4)
            let count = try await s.get("/fhir/Patient?_summary=count")
            #expect(count.total == 4)
            #expect(count.entries.isEmpty)
            // _elements subsets and tags
            let elements = try await s.get("/fhir/Patient?_id=\(f.p1)&_elements=gender")
            let resource = try #require(elements.entries.first?["resource"]?.objectValue)
            #expect(resource["gender"]?.stringValue == "female")
            #expect(resource["name"] == nil)
            #expect(resource["meta"]?["tag"]?.arrayValue?.first?["code"]?.stringValue == "SUBSETTED")
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func unknownParametersWarnOrFailUnderStrictHandling(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            _ = try await SearchFixture.load(s)
            let lenient = try await s.get("/fhir/Patient?gender=female&shoe-size=42")
            #expect(lenient.code == 200)
            #expect(lenient.total == 2)
            let outcome = lenient.entries.first { $0["search"]?["mode"]?.stringValue == "outcome" }
            #expect(outcome?["resource"]?["issue"]?.arrayValue?.first?["severity"]?.stringValue == "warning")
            #expect(lenient["link"]?.arrayValue?.first?["url"]?.stringValue?.contains("shoe-size") == false)
            let strict = try await s.get("/fhir/Patient?gender=female&shoe-size=42", headers: [HTTPField.Name("Prefer")!: "handling=strict"])
            #expect(strict.code == 400)
            #expect(strict.issueCodes == ["not-supported"])
            // POST _search takes the same parameters as a form
            let posted = try await s.request(.post, "/fhir/Patient/_search", body: "gender=female", headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(posted.total == 2)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func includeAndRevinclude(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let f = try await SearchFixture.load(s)
            let inc = try await s.get("/fhir/Observation?_id=\(f.pulse1)&_include=Observation:subject")
            #expect(inc.total == 1)
            let included = inc.entries.filter { $0["search"]?["mode"]?.stringValue == "include" }
            #expect(included.compactMap { $0["resource"]?["id"]?.stringValue } == [f.p1])
            let rev = try await s.get("/fhir/Patient?_id=\(f.p2)&_revinclude=Observation:subject")
            #expect(rev.total == 1)
            #expect(Set(rev.entries.filter { $0["search"]?["mode"]?.stringValue == "include" }.compactMap { $0["resource"]?["id"]?.stringValue }) == [f.pulse2, f.periodObs])
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func veryLongValuesAreIndexedByTheirPrefix(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            // a 6,000-character family name: more than a PostgreSQL btree row may hold
            let family = "Long" + (0..<6000).map { _ in String("abcdefghijklmnopqrstuvwxyz".randomElement()!) }.joined()
            let id = try await s.create(j(#"{"resourceType":"Patient","name":[{"family":"\#(family)"}]}"#))
            #expect(try await s.searchIDs("Patient?family=\(family.prefix(40))") == [id])
            #expect(try await s.get("/fhir/Patient/\(id)")["name"]?.arrayValue?.first?["family"]?.stringValue == family)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func deletedAndUpdatedResourcesLeaveTheIndex(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let f = try await SearchFixture.load(s)
            #expect(try await s.request(.delete, "/fhir/Patient/\(f.p1)").code == 204)
            #expect(try await s.searchIDs("Patient?family=mull") == [f.p2])
            var p2 = try await s.get("/fhir/Patient/\(f.p2)").body!.objectValue!
            p2["name"] = j(#"[{"family":"Renamed"}]"#)
            #expect(try await s.put("/fhir/Patient/\(f.p2)", .object(p2)).code == 200)
            #expect(try await s.searchIDs("Patient?family=mull").isEmpty)
            #expect(try await s.searchIDs("Patient?family=renamed") == [f.p2])
        }
    }
}
