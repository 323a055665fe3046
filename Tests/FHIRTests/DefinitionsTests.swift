import FHIR
import Kernel
import Testing

/// The bundled R4 definitions, loaded once for the suites that need them.
enum R4 {
    static let definitions = try! FHIRDefinitions.loadBundled()
    static let registry = SearchParameterRegistry(definitions: definitions)
}

@Suite struct FHIRPathTests {
    let evaluator = FHIRPathEvaluator(definitions: R4.definitions)

    func values(_ expression: String, _ resource: String) throws -> [JSON] {
        evaluator.evaluate(try FHIRPathExpression(expression), on: try JSON.parse(resource)).map(\.value)
    }

    @Test func everyOfficialSearchExpressionParses() {
        let failures = R4.definitions.searchParameters.compactMap(\.expression).filter { (try? FHIRPathExpression($0)) == nil }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        #expect(R4.definitions.searchParameters.count == 1390)
    }

    @Test func choiceTypesUnionsAndTypeFilters() throws {
        let obs = #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":5,"unit":"mg"},"subject":{"reference":"Patient/1"}}"#
        #expect(try values("(Observation.value as Quantity).value", obs) == [.number("5")])
        #expect(try values("Observation.value.ofType(string)", obs) == [])
        #expect(try values("Observation.subject.where(resolve() is Patient)", obs).count == 1)
        #expect(try values("Observation.subject.where(resolve() is Group)", obs).isEmpty)
        #expect(try values("AllergyIntolerance.code | Observation.code", obs) == [try JSON.parse(#"{"text":"x"}"#)])
    }

    @Test func whereExistsAndComparison() throws {
        let patient = #"{"resourceType":"Patient","telecom":[{"system":"phone","value":"1"},{"system":"email","value":"a@b"}],"deceasedBoolean":false}"#
        #expect(try values("Patient.telecom.where(system='email').value", patient) == [.string("a@b")])
        #expect(try values("Patient.deceased.exists() and Patient.deceased != false", patient) == [.bool(false)])
    }

    @Test func rejectsWhatItDoesNotImplement() {
        #expect(throws: FHIRPathError.self) { try FHIRPathExpression("Patient.birthDate + 1") }
        #expect(throws: FHIRPathError.self) { try FHIRPathExpression("Patient.name.where(") }
    }
}

@Suite struct SearchIndexerTests {
    @Test func extractsValuesOfEveryParameterType() throws {
        let indexer = SearchIndexer(definitions: R4.definitions, registry: R4.registry)
        let patient = try JSON.parse(
            #"{"resourceType":"Patient","identifier":[{"system":"urn:s","value":"7"}],"name":[{"family":"Ñúñez","given":["Ana"]}],"gender":"female","birthDate":"1990","generalPractitioner":[{"reference":"Practitioner/p1"}]}"#
        )
        let e = indexer.entries(for: patient, type: "Patient")
        #expect(e.strings.contains { $0.param == "family" && $0.normalized == "nunez" && $0.exact == "Ñúñez" })
        #expect(e.tokens.contains { $0.param == "identifier" && $0.system == "urn:s" && $0.code == "7" })
        #expect(e.tokens.contains { $0.param == "gender" && $0.code == "female" })
        #expect(e.dates.contains { $0.param == "birthdate" && $0.low == DateRange("1990")!.low && $0.high == DateRange("1990")!.high })
        #expect(e.references.contains { $0.param == "general-practitioner" && $0.targetType == "Practitioner" && $0.targetID == "p1" })
    }
}

@Suite struct ValidatorTests {
    let validator = ResourceValidator(definitions: R4.definitions)

    func issues(_ text: String) throws -> [String] {
        validator.validate(try JSON.parse(text)).map { "\($0.code.rawValue) \($0.location)" }
    }

    @Test func acceptsAValidResource() throws {
        #expect(
            try issues(
                #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueQuantity":{"value":1.5},"effectiveDateTime":"2020-01-01T10:00:00+01:00","_status":{"extension":[{"url":"http://x","valueString":"y"}]}}"#
            ) == [])
    }

    @Test(arguments: [
        #"<img src=\"x\" onerror =\"alert(1)\"/>"#, #"<p onmouseover =\"alert(1)\">x</p>"#, #"<a href=\"java&#x09;script:alert(1)\">x</a>"#,
        #"<a href=\"&#106;avascript:alert(1)\">x</a>"#, #"<a href=\"&#106avascript:alert(1)\">x</a>"#,
        #"<a href=\"&#0000106avascript:x\">x</a>"#, #"<a href=\"j&#97vascript:x\">x</a>"#,
        #"<a href=\"javascript&#58x\">x</a>"#, #"<a href=\"javascript&#x3a\">x</a>"#, #"<object data=\"x\"></object>"#, #"<form action=\"http://evil.example\"></form>"#,
        #"<script>alert(1)</script>"#, #"<SVG onload=alert(1)>"#, #"<iframe src=\"x\"></iframe>"#, #"<a href=\"JAVASCRIPT:x\">x</a>"#,
        #"<a href=\" vbscript:x\">x</a>"#, #"<img src=\"data:text/html,x\"/>"#, #"<![CDATA[x]]>"#,
    ])
    func narrativesHoldFormattingOnly(_ inner: String) throws {
        let text =
            #"{"resourceType":"Observation","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">\#(inner)</div>"},"status":"final","code":{"text":"x"}}"#
        #expect(try issues(text).contains("invalid Observation.text.div"), "\(inner)")
    }

    @Test func ordinaryNarrativesPass() throws {
        let inner =
            #"<p style=\"color:red\">BP <b>120/80</b> &amp; <a href=\"https://example.org/x\">link</a></p><!-- a note --><table><tr><td>1</td></tr></table><img src=\"data:image/png;base64,iVBO\" alt=\"x\"/><span>on time: <i>online</i></span>"#
        let text =
            #"{"resourceType":"Observation","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">\#(inner)</div>"},"status":"final","code":{"text":"x"}}"#
        #expect(try issues(text) == [])
    }

    @Test func namesAtMostAHundredProblemsAndCountsTheRest() throws {
        let notes = Array(repeating: "{}", count: 5000).joined(separator: ",")
        let found = validator.validate(try JSON.parse(#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"note":[\#(notes)]}"#))
        #expect(found.count == ResourceValidator.maxIssues + 1)
        #expect(found.last?.code == .tooCostly && found.last?.message.contains("more problems of the same kind") == true)
    }

    @Test func reportsEveryProblemWithItsPath() throws {
        let found = try issues(
            #"{"resourceType":"Observation","status":"finale","code":{"coding":{"code":"1"}},"valueQuantity":{"value":"1"},"valueString":"x","effectiveDateTime":"2020-02-30","subject":{"reference":"Patient/"},"bogus":1}"#
        )
        #expect(found.contains("code-invalid Observation.status"))
        #expect(found.contains("structure Observation.code.coding"))
        #expect(found.contains("value Observation.valueQuantity.value"))
        #expect(found.contains { $0.hasPrefix("structure Observation.value") })  // two choices of value[x]
        #expect(found.contains("value Observation.effectiveDateTime"))
        #expect(found.contains("value Observation.subject.reference"))
        #expect(found.contains("structure Observation.bogus"))
    }

    @Test func requiresMandatoryElementsAndKnownTypes() throws {
        #expect(try issues(#"{"resourceType":"Observation","code":{"text":"x"}}"#) == ["required Observation"])
        #expect(try issues(#"{"resourceType":"Spaceship"}"#).first?.hasPrefix("invalid") == true)
        #expect(try issues(#"{"resourceType":"Patient","name":[]}"#) == ["structure Patient.name"])
    }
}

@Suite struct SearchRequestTests {
    @Test func parsesModifiersChainsAndResultParameters() throws {
        let pairs = QueryString.decode("family:exact=O%27Brien&subject:Patient.name=x&_count=5&_sort=-date,_id&date=ge2020,le2021&_include=Observation:subject&_total=accurate")
        let r = try SearchRequest(type: "Observation", pairs: pairs + [("_id", "a\\,b")], registry: R4.registry, strict: false)
        #expect(r.count == 5)
        #expect(r.sort.map(\.name) == ["date", "_id"])
        #expect(r.sort.first?.descending == true)
        #expect(r.includes.first?.param == "subject")
        #expect(r.warnings.count == 1)  // family is not an Observation parameter
        let chain = try #require(r.clauses.first { $0.parameter?.code == "subject" })
        #expect(chain.modifier == "Patient")
        #expect(chain.chain == ["name"])
        #expect(r.clauses.first { $0.parameter?.code == "date" }?.values == ["ge2020", "le2021"])
        #expect(r.clauses.first { $0.parameter?.code == "_id" }?.values == ["a,b"])
    }

    @Test func strictHandlingRejectsUnknownParameters() {
        #expect(throws: FHIRError.self) {
            try SearchRequest(type: "Patient", pairs: [("nonsense", "1")], registry: R4.registry, strict: true)
        }
        #expect(throws: FHIRError.self) {
            try SearchRequest(type: "Patient", pairs: [("_count", "-1")], registry: R4.registry, strict: false)
        }
    }
}
