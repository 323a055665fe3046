import Foundation
import Kernel

/// Which patients a resource belongs to, by the R4 Patient CompartmentDefinition: the
/// compartment's search parameters of that type, evaluated on the resource. Used to name every
/// patient an interaction touched in its audit record (and, later, to confine access).
package struct PatientCompartment: Sendable {
    private let expressions: [String: [FHIRPathExpression]]
    private let evaluator: FHIRPathEvaluator
    private let definitions: FHIRDefinitions

    static let linkKey = Data("\"link\"".utf8)

    package init(definitions: FHIRDefinitions, registry: SearchParameterRegistry) {
        var expressions: [String: [FHIRPathExpression]] = [:]
        for (type, params) in definitions.patientCompartment {
            expressions[type] = params.compactMap { registry.parameter($0, for: type)?.expression }
        }
        self.expressions = expressions
        self.evaluator = FHIRPathEvaluator(definitions: definitions)
        self.definitions = definitions
    }

    /// `Patient/<id>` references of the patients the resource is about (itself, for a Patient).
    package func patients(of resource: JSON, type: String, id: String) -> [String] {
        var out: [String] = type == "Patient" ? ["Patient/\(id)"] : []
        for expression in expressions[type] ?? [] {
            for node in evaluator.evaluate(expression, on: resource) {
                guard let reference = node.value["reference"]?.stringValue,
                    let (t, i) = ReferenceText.typeAndID(reference, definitions: definitions), t == "Patient"
                else { continue }
                let ref = "Patient/\(i)"
                if !out.contains(ref) { out.append(ref) }
            }
        }
        return out
    }

    package func patients(of version: ResourceVersion) -> [String] {
        // A Patient names other patients only through `link`: most reads need no parsing.
        if version.type == "Patient", let content = version.content, content.range(of: Self.linkKey) == nil {
            return ["Patient/\(version.id)"]
        }
        guard let content = version.content, let json = try? JSON.parse(content) else {
            return version.type == "Patient" ? ["Patient/\(version.id)"] : []
        }
        return patients(of: json, type: version.type, id: version.id)
    }
}

extension AuditRecord {
    /// This record completed for a change: the resource it wrote and that resource's patients.
    package func changed(_ version: ResourceVersion, created: Bool, compartment: PatientCompartment) -> AuditRecord {
        var r = self
        if created {
            r.action = .create
            if r.interaction == "update" { r.interaction = "create" }
        } else {
            r.action = .update
        }
        r.resources = [version.reference]
        r.patients = compartment.patients(of: version)
        return r
    }
}
