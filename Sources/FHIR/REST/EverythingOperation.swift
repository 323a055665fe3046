import Foundation
import HTTPTypes
import Kernel

/// `Patient/{id}/$everything`, basic: the Patient and every current resource of their
/// compartment that the caller may read, as one searchset Bundle (no paging, no `_since`,
/// `_type` or `start`/`end` yet). The caller's access decides as on a read: a patient gets
/// their own record, a practitioner a patient in their care, anyone else a 403.
package struct EverythingOperation: FHIROperation {
    package init() {}
    package var definition: JSON { Self.definitionJSON }

    static let definitionJSON: JSON = {
        var o: JSONObject = [:]
        o["resourceType"] = "OperationDefinition"
        o["id"] = "Patient-everything"
        o["url"] = "https://healthhub.dev/fhir/OperationDefinition/Patient-everything"
        o["base"] = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
        o["name"] = "PatientEverything"
        o["title"] = "Patient everything (basic)"
        o["status"] = "active"
        o["kind"] = "operation"
        o["publisher"] = "HealthHub"
        o["description"] =
            "The Patient and every current resource of their compartment that the caller may read, in one searchset Bundle. HealthHub does not page it yet and takes no parameters."
        o["affectsState"] = false
        o["code"] = "everything"
        o["resource"] = ["Patient"]
        o["system"] = false
        o["type"] = false
        o["instance"] = true
        o["parameter"] = [["name": "return", "use": "out", "min": 1, "max": "1", "type": "Bundle", "documentation": "A searchset of the record."]]
        return .object(o)
    }()

    package func invoke(_ call: OperationCall, record: inout AuditRecord) async throws -> OperationResult {
        if let given = call.input.values.first {
            throw FHIRError(.badRequest, code: "not-supported", "$everything takes no parameters yet ('\(given.name.prefix(40))')", expression: [String(given.name.prefix(40))])
        }
        let id = call.id ?? ""
        let versions = try await call.service.everything(patient: id, access: call.access)
        record.patients = ["Patient/\(id)"]
        var entries: [JSON] = []
        entries.reserveCapacity(versions.count)
        for v in versions {
            guard let content = v.content, let resource = try? JSON.parse(content) else { continue }
            entries.append(["fullUrl": .string("\(call.base)/\(v.type)/\(v.id)"), "resource": resource, "search": ["mode": "match"]])
        }
        var bundle: JSONObject = ["resourceType": "Bundle", "type": "searchset", "total": .int(entries.count)]
        bundle["timestamp"] = .string(Instant.format(millis: Instant.millis(Now.date)))
        bundle["link"] = [["relation": "self", "url": .string("\(call.base)/Patient/\(id)/$everything")]]
        if !entries.isEmpty { bundle["entry"] = .array(entries) }
        return OperationResult(body: .object(bundle))
    }
}
