import FHIR
import Kernel

/// Small builders for the FHIR JSON the demo generator writes.
enum DemoJSON {
    static let snomed = "http://snomed.info/sct"
    static let loinc = "http://loinc.org"
    static let ucum = "http://unitsofmeasure.org"
    static let rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    static let cvx = "http://hl7.org/fhir/sid/cvx"
    static let npi = "http://hl7.org/fhir/sid/us-npi"
    static let mrnSystem = "https://healthhub.example/mrn"
    static let orgSystem = "https://healthhub.example/org"

    /// An object from ordered members; members whose value is nil are left out.
    static func object(_ members: KeyValuePairs<String, JSON?>) -> JSON {
        var o = JSONObject()
        for (key, value) in members {
            if let value { o[key] = value }
        }
        return .object(o)
    }

    static func string(_ s: String) -> JSON { .string(s) }
    static func strings(_ items: [String]) -> JSON { .array(items.map(JSON.string)) }

    /// A decimal with exactly `places` fraction digits (e.g. 72.5, 24.31), written as a JSON number.
    static func decimal(_ value: Double, places: Int) -> JSON { .number(fixed(value, places: places)) }

    static func fixed(_ value: Double, places: Int) -> String {
        var scale = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((abs(value) * Double(scale)).rounded())
        let negative = value < 0 && scaled != 0
        let whole = scaled / scale
        var text = (negative ? "-" : "") + String(whole)
        if places > 0 {
            let frac = String(scaled % scale)
            text += "." + String(repeating: "0", count: places - frac.count) + frac
        }
        return text
    }

    static func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSON {
        object(["system": .string(system), "code": .string(code), "display": display.map(JSON.string)])
    }

    /// A CodeableConcept with one coding; `text` defaults to the display.
    static func concept(_ system: String, _ code: String, _ display: String? = nil, text: String? = nil) -> JSON {
        object(["coding": .array([coding(system, code, display)]), "text": (text ?? display).map(JSON.string)])
    }

    static func reference(_ reference: String, display: String? = nil) -> JSON {
        object(["reference": .string(reference), "display": display.map(JSON.string)])
    }

    static func quantity(_ value: JSON, unit: String, code: String) -> JSON {
        object(["value": value, "unit": .string(unit), "system": .string(ucum), "code": .string(code)])
    }

    static func identifier(_ system: String, _ value: String) -> JSON {
        object(["system": .string(system), "value": .string(value)])
    }

    /// A Bundle entry with a `urn:uuid:` fullUrl and a POST request (with `ifNoneExist` when given).
    static func entry(uuid: String, resource: JSON, ifNoneExist: String? = nil) -> JSON {
        let type = resource["resourceType"]?.stringValue ?? ""
        return object([
            "fullUrl": .string("urn:uuid:" + uuid),
            "resource": resource,
            "request": object([
                "method": .string("POST"),
                "url": .string(type),
                "ifNoneExist": ifNoneExist.map(JSON.string),
            ]),
        ])
    }

    static func bundle(type: String, entries: [JSON]) -> JSON {
        object(["resourceType": .string("Bundle"), "type": .string(type), "entry": .array(entries)])
    }
}
