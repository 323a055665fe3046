import FHIR
import Kernel
import Testing

@Suite struct ResourceValidatorTests {
    let validator = ResourceValidator(definitions: R4.definitions)

    func found(_ text: String, expectedType: String? = nil) throws -> [ValidationIssue] {
        validator.validate(try JSON.parse(text), expectedType: expectedType)
    }

    /// `code location` of every issue, in the order reported.
    func issues(_ text: String, expectedType: String? = nil) throws -> [String] {
        try found(text, expectedType: expectedType).map { "\($0.code.rawValue) \($0.location)" }
    }

    func patient(_ members: String) -> String { #"{"resourceType":"Patient",\#(members)}"# }
    func observation(_ members: String) -> String { #"{"resourceType":"Observation","status":"final","code":{"text":"x"},\#(members)}"# }

    // MARK: Valid resources

    @Test func acceptsAPatientUsingMostOfTheJSONRules() throws {
        let text = patient(
            #"""
            "id":"p-1","meta":{"versionId":"2","lastUpdated":"2024-01-02T03:04:05.678Z"},
            "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Ann <b>Doe</b></p></div>"},
            "contained":[{"resourceType":"Practitioner","id":"gp","name":[{"family":"Who"}]}],
            "extension":[{"url":"http://example.org/x","valueCode":"a"}],
            "identifier":[{"system":"urn:oid:1.2.3","value":"42"}],
            "active":true,
            "name":[{"use":"official","family":"Doe","given":["Ann",null],"_given":[null,{"extension":[{"url":"http://example.org/y","valueString":"z"}]}]}],
            "telecom":[{"system":"phone","value":"+1 555"}],
            "gender":"female","birthDate":"1990-02-28",
            "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1990-02-28T10:15:00+01:00"}]},
            "multipleBirthInteger":2,
            "photo":[{"contentType":"image/png","data":"iVBORw0K","size":0}],
            "generalPractitioner":[{"reference":"#gp"}],
            "managingOrganization":{"reference":"Organization/o1"}
            """#)
        #expect(try issues(text) == [])
    }

    @Test func acceptsAnObservationWithComponentsAndExponentDecimals() throws {
        let text = #"""
            {"resourceType":"Observation","status":"final",
             "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
             "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
             "subject":{"reference":"Patient/p-1/_history/3"},"effectiveDateTime":"2024-05-01",
             "component":[
               {"code":{"text":"systolic"},"valueQuantity":{"value":120,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
               {"code":{"text":"diastolic"},"valueQuantity":{"value":8e1,"comparator":"<"}},
               {"code":{"text":"tiny"},"valueQuantity":{"value":-0.0000000001}},
               {"code":{"text":"huge"},"valueQuantity":{"value":1e308}}]}
            """#
        #expect(try issues(text) == [])
    }

    @Test func acceptsNestedResourcesAndEveryReferenceForm() throws {
        let uuid = "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"
        let text = #"""
            {"resourceType":"Bundle","type":"collection","entry":[
              {"fullUrl":"\#(uuid)","resource":{"resourceType":"Patient","generalPractitioner":[{"reference":"https://other.example/fhir/Practitioner/9"}]}},
              {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"\#(uuid)"}}},
              {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:s|1"}}},
              {"resource":{"resourceType":"Patient","contained":[{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"#"}}]}}]}
            """#
        #expect(try issues(text) == [])
    }

    // MARK: Required elements

    @Test func namesEachMissingRequiredElementAtItsParent() throws {
        let bare = try found(#"{"resourceType":"Observation"}"#)
        #expect(bare.map(\.location) == ["Observation", "Observation"])
        #expect(bare.map(\.message) == ["Missing required element 'code'", "Missing required element 'status'"])
        #expect(bare.allSatisfy { $0.code == .required })

        #expect(try issues(observation(#""component":[{"code":{"text":"a"}},{"valueString":"x"}]"#)) == ["required Observation.component[1]"])
        #expect(try issues(patient(#""link":[{"type":"seealso"}]"#)) == ["required Patient.link[0]"])
        #expect(try issues(patient(#""extension":[{"valueString":"x"}]"#)) == ["required Patient.extension[0]"])
        #expect(try issues(patient(#""text":{"status":"generated"}"#)) == ["required Patient.text"])
    }

    @Test func aMissingResourceTypeIsRequiredAtTheExpectedType() throws {
        #expect(try issues(#"{"id":"1"}"#) == ["required Resource"])
        #expect(try issues(#"{"id":"1"}"#, expectedType: "Patient") == ["required Patient"])
        #expect(try found(#"{"id":"1"}"#).first?.message == "Missing required element 'resourceType'")
    }

    // MARK: Cardinality and JSON shape

    @Test(arguments: [
        (#""gender":["male"]"#, "structure Patient.gender", "Element must not be an array (maximum cardinality 1)"),
        (#""identifier":[]"#, "structure Patient.identifier", "Element must not be an empty array"),
        (#""gender":null"#, "structure Patient.gender", "Element must not be null"),
        (#""maritalStatus":{}"#, "structure Patient.maritalStatus", "Element must not be an empty object"),
        (
            #""text":{"status":"generated","div":"<div>x</div>","_div":{"extension":[{"url":"http://x","valueString":"y"}]}}"#,
            "structure Patient.text.div.extension", "Element 'xhtml.extension' is not allowed here (maximum cardinality 0)"
        ),
        (
            #""name":[{"given":["a",null]}]"#, "structure Patient.name[0].given[1]",
            "Null is only allowed in a primitive array when the matching '_' array has an entry at that index"
        ),
        (#""name":[{"given":["a","b"],"_given":[null]}]"#, "structure Patient.name[0].given", "Element '_given' must have as many entries as 'given'"),
        (#""name":[null]"#, "structure Patient.name[0]", "Element must not be null"),
    ])
    func breaksOfCardinalityOrShape(_ members: String, _ issue: String, _ message: String) throws {
        let all = try found(patient(members))
        #expect(all.map { "\($0.code.rawValue) \($0.location)" } == [issue])
        #expect(all.first?.message == message)
    }

    @Test func aSingleValueForARepeatingElementIsStillValidatedAsAnItem() throws {
        #expect(try issues(patient(#""name":{"family":"Doe"}"#)) == ["structure Patient.name"])
        let both = try found(patient(#""name":"Doe""#))
        #expect(both.map(\.location) == ["Patient.name", "Patient.name"])
        #expect(both.map(\.message) == ["Element must be an array (it repeats)", "Element must be a JSON object"])
    }

    // MARK: Primitive formats

    @Test(arguments: [
        (#""birthDate":"2021-02-29""#, "value Patient.birthDate"),
        (#""birthDate":"1990-1-1""#, "value Patient.birthDate"),
        (#""birthDate":"1990-01-01T10:00:00Z""#, "value Patient.birthDate"),
        (#""birthDate":"""#, "value Patient.birthDate"),
        (#""birthDate":1990"#, "value Patient.birthDate"),
        (#""id":"a b""#, "value Patient.id"),
        (#""id":"a_b""#, "value Patient.id"),
        (#""id":"\#(String(repeating: "x", count: 65))""#, "value Patient.id"),
        (#""meta":{"lastUpdated":"2020-01-01"}"#, "value Patient.meta.lastUpdated"),
        (#""meta":{"lastUpdated":"2020-01-01T10:00:00"}"#, "value Patient.meta.lastUpdated"),
        (#""active":"true""#, "value Patient.active"),
        (#""multipleBirthInteger":1.5"#, "value Patient.multipleBirthInteger"),
        (#""multipleBirthInteger":2147483648"#, "value Patient.multipleBirthInteger"),
        (#""multipleBirthInteger":1e2"#, "value Patient.multipleBirthInteger"),
        (#""multipleBirthInteger":"2""#, "value Patient.multipleBirthInteger"),
        (#""photo":[{"size":-1}]"#, "value Patient.photo[0].size"),
        (#""photo":[{"data":"abc"}]"#, "value Patient.photo[0].data"),
        (#""gender":"male ""#, "value Patient.gender"),
        (#""gender":"robot""#, "code-invalid Patient.gender"),
        (#""identifier":[{"system":"urn:x y"}]"#, "value Patient.identifier[0].system"),
        (#""name":[{"family":"Doe"},{"given":[1]}]"#, "value Patient.name[1].given[0]"),
    ])
    func badPrimitiveValues(_ members: String, _ issue: String) throws {
        #expect(try issues(patient(members)) == [issue])
    }

    @Test func dateTimesNeedAZoneOnceTheyHaveATime() throws {
        #expect(try issues(observation(#""effectiveDateTime":"2020-01-01T10:00:00""#)) == ["value Observation.effectiveDateTime"])
        #expect(try issues(observation(#""effectiveDateTime":"2020-01-01T10:00Z""#)) == ["value Observation.effectiveDateTime"])
        #expect(try issues(observation(#""effectiveDateTime":"2020-01-01T10:00:00+14:30""#)) == ["value Observation.effectiveDateTime"])
        #expect(try issues(observation(#""effectiveDateTime":"2020-01-01T23:59:60.123-05:00""#)) == [])
        #expect(try issues(observation(#""valueTime":"25:00:00""#)) == ["value Observation.valueTime"])
    }

    @Test func messagesNameTheRuleButNeverTheValue() throws {
        let date = try #require(try found(patient(#""birthDate":"1990-13-01""#)).first)
        #expect(date.message == "Invalid date format for element 'Patient.birthDate'")
        let number = try #require(try found(observation(#""valueQuantity":{"value":"1.5"}"#)).first)
        #expect(number.location == "Observation.valueQuantity.value")
        #expect(number.message == "Element 'Quantity.value' must be a JSON number")
        let code = try #require(try found(patient(#""gender":"robot""#)).first)
        #expect(code.message == "Element 'Patient.gender' must be one of the codes of its required value set")
        #expect(!code.message.contains("robot"))
    }

    @Test func decimalsNoDoubleHoldsAreRefusedBeforeValidation() throws {
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(observation(#""valueQuantity":{"value":1e400}"#)) }
        do {
            _ = try JSON.parse(#"{"value":1e400}"#)
            Issue.record("1e400 parsed")
        } catch {
            #expect(error.message == "Number out of range")
            #expect(error.column == 10)
        }
    }

    // MARK: Unknown elements and wrong types

    @Test func unknownElementsAreStructureIssuesWhereverTheyAre() throws {
        #expect(try issues(patient(#""foo":1"#)) == ["structure Patient.foo"])
        #expect(try issues(patient(#""name":[{"family":"Doe","nick":"x"}]"#)) == ["structure Patient.name[0].nick"])
        #expect(try issues(patient(#""_birthDate":{"foo":1}"#)) == ["structure Patient.birthDate.foo"])
        #expect(try issues(patient(#""multipleBirthString":"x""#)) == ["structure Patient.multipleBirthString"])
        #expect(try issues(observation(#""valueFoo":1"#)) == ["structure Observation.valueFoo"])
        let long = String(repeating: "k", count: 100)
        let issue = try #require(try found(patient(#""\#(long)":1"#)).first)
        #expect(issue.location == "Patient." + long)
        #expect(issue.message == "Unknown element '\(String(repeating: "k", count: 60))...'")
    }

    @Test func twoTypesOfOneChoiceElement() throws {
        let all = try found(observation(#""valueString":"x","valueBoolean":true"#))
        #expect(all.map { "\($0.code.rawValue) \($0.location)" } == ["structure Observation.valueBoolean"])
        #expect(all.first?.message == "Only one type may be given for choice element 'Observation.value[x]'")
    }

    @Test func resourceTypesMustBeKnownConcreteAndAsExpected() throws {
        #expect(try issues(#"{"resourceType":"Spaceship"}"#) == ["invalid Resource.resourceType"])
        #expect(try issues(#"{"resourceType":"DomainResource"}"#) == ["invalid Resource.resourceType"])
        #expect(try issues(#"{"resourceType":5}"#) == ["invalid Resource.resourceType"])
        #expect(try issues("[]") == ["structure Resource"])
        let mismatch = try found(#"{"resourceType":"Patient"}"#, expectedType: "Observation")
        #expect(mismatch.map(\.location) == ["Patient.resourceType"])
        #expect(mismatch.first?.message == "Resource type does not match the expected type 'Observation'")
    }

    @Test func wrongJSONTypesForComplexElements() throws {
        #expect(try issues(patient(#""maritalStatus":"M""#)) == ["structure Patient.maritalStatus"])
        #expect(try issues(patient(#""_active":"x""#)) == ["structure Patient.active"])
        #expect(try issues(patient(#""contained":[{"id":"x"}]"#)) == ["required Patient.contained[0]"])
        #expect(
            try issues(#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","gender":"robot"}}]}"#)
                == ["code-invalid Bundle.entry[0].resource.gender"])
    }

    // MARK: Narratives

    @Test(arguments: [
        ("<script>alert(1)</script>", "active elements (script, style, form, frame, object, svg, ...) are not allowed"),
        (#"<p onclick=\"x()\">a</p>"#, "event-handler attributes (on...) are not allowed"),
        (#"<a href=\"jav&#x61;script:x\">a</a>"#, "javascript: URLs are not allowed"),
        (#"<img src=\"data:text/html;base64,PHNjcmlwdD4=\"/>"#, "data: URLs other than images are not allowed"),
        ("<!-- open", "an unterminated comment is not allowed"),
    ])
    func unsafeNarrativesAreInvalidAtTheirDiv(_ inner: String, _ problem: String) throws {
        let div = #"<div xmlns=\"http://www.w3.org/1999/xhtml\">\#(inner)</div>"#
        let all = try found(patient(#""contained":[{"resourceType":"Patient","id":"c","text":{"status":"generated","div":"\#(div)"}}]"#))
        #expect(all.map { "\($0.code.rawValue) \($0.location)" } == ["invalid Patient.contained[0].text.div"])
        #expect(all.first?.message == "Narrative 'Narrative.div' must hold formatting only (FHIR txt-1, txt-2): \(problem)")
    }

    @Test func aNarrativeMustBeADiv() throws {
        let all = try found(patient(#""text":{"status":"generated","div":"<p>x</p>"}"#))
        #expect(all.map { "\($0.code.rawValue) \($0.location)" } == ["value Patient.text.div"])
        #expect(all.first?.message == "Invalid xhtml format for element 'Narrative.div'")
    }

    // MARK: References and contained resources

    @Test(arguments: [
        ("Patient/", "Invalid reference format (expected Type/id, an absolute URL, #id, urn:uuid: or urn:oid:)"),
        ("Patient/1/_history/", "Invalid reference format (expected Type/id, an absolute URL, #id, urn:uuid: or urn:oid:)"),
        ("urn:uuid:0F8FAD5B-D9CB-469F-A165-70867728950E", "Invalid reference format (expected Type/id, an absolute URL, #id, urn:uuid: or urn:oid:)"),
        ("Spaceship/1", "Reference does not name a known resource type"),
        ("Practitioner/1", "Reference target type is not allowed here (allowed: Patient, Group, Device, Location)"),
        ("#nope", "Local reference does not match the id of any contained resource"),
        ("#", "Reference '#' to the container is only allowed inside a contained resource"),
    ])
    func badReferencesAreValueIssuesOnTheReference(_ reference: String, _ message: String) throws {
        let all = try found(observation(#""subject":{"reference":"\#(reference)"}"#))
        #expect(all.map { "\($0.code.rawValue) \($0.location)" } == ["value Observation.subject.reference"])
        #expect(all.first?.message == message)
    }

    @Test func containedResourcesNeedAnIDAndNoVersionMetadata() throws {
        let noID = try found(patient(#""contained":[{"resourceType":"Organization","name":"x"}]"#))
        #expect(noID.map { "\($0.code.rawValue) \($0.location)" } == ["required Patient.contained[0]"])
        #expect(noID.first?.message == "A contained resource must have an 'id'")
        #expect(try issues(patient(#""contained":[{"resourceType":"Organization","id":"o","meta":{"versionId":"1"}}]"#)) == ["invalid Patient.contained[0].meta"])
    }

    @Test func anExtensionHasAValueOrExtensionsNotBoth() throws {
        let all = try found(patient(#""extension":[{"url":"http://x","valueString":"a","extension":[{"url":"y","valueString":"b"}]}]"#))
        #expect(all.map { "\($0.code.rawValue) \($0.location)" } == ["invalid Patient.extension[0]"])
        #expect(all.first?.message == "An extension must have either extensions or a value, not both")
    }

    @Test func reportsAllIssuesOfOneResourceInDocumentOrder() throws {
        let all = try issues(patient(#""id":"a b","gender":"robot","name":[{"nick":"x"}],"birthDate":"2020-02-30","foo":null"#))
        #expect(all == ["value Patient.id", "code-invalid Patient.gender", "structure Patient.name[0].nick", "value Patient.birthDate", "structure Patient.foo"])
    }
}
