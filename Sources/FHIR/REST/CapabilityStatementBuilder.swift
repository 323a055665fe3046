import Foundation
import HTTPTypes
import Kernel

/// `GET /fhir/metadata`: exactly what this server supports, generated from the same registry
/// the search engine uses, so the statement cannot drift from the behaviour.
package struct CapabilityStatementBuilder: Sendable {
    let definitions: FHIRDefinitions
    let registry: SearchParameterRegistry

    package init(definitions: FHIRDefinitions, registry: SearchParameterRegistry) {
        self.definitions = definitions
        self.registry = registry
    }

    /// `operations`: the operations other modules add, listed on their resource type with the
    /// canonical URL of their OperationDefinition.
    package func build(operations: [any FHIROperation] = []) -> JSON {
        var resources: [JSON] = []
        for type in definitions.resourceTypes {
            var r = JSONObject()
            r["type"] = .string(type)
            r["interaction"] = .array(
                ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"].map { .object(JSONObject([("code", .string($0))])) })
            r["versioning"] = .string("versioned")
            r["readHistory"] = .bool(true)
            r["updateCreate"] = .bool(true)
            r["conditionalCreate"] = .bool(true)
            r["conditionalUpdate"] = .bool(true)
            r["conditionalDelete"] = .string("single")
            let params = registry.all(for: type).filter { registry.isSupported($0) }
            let references = params.filter { $0.type == .reference }.map(\.code)
            r["searchInclude"] = .array((["*"] + references.map { "\(type):\($0)" }).map(JSON.string))
            r["searchRevInclude"] = .array(revIncludes(for: type).map(JSON.string))
            let ops = operations.filter { $0.resourceType == type }
            if !ops.isEmpty {
                r["operation"] = .array(
                    ops.map { op in
                        .object(JSONObject([("name", .string(op.code)), ("definition", op.definition["url"] ?? .string(""))]))
                    })
            }
            r["searchParam"] = .array(
                params.map { p in
                    .object(JSONObject([("name", .string(p.code)), ("definition", .string(p.definition.url)), ("type", .string(p.type.rawValue))]))
                })
            resources.append(.object(r))
        }
        var rest = JSONObject()
        rest["mode"] = .string("server")
        rest["documentation"] = .string(
            "Search: string (:exact, :contains), token (:not), date (eq ne lt gt le ge sa eb ap), reference (:Type, chaining), number, quantity, uri (:below), :missing; _sort, _count, _offset paging, _total, _summary, _elements, _include/_revinclude (:iterate). Composite and special parameters are not supported."
        )
        rest["resource"] = .array(resources)
        rest["interaction"] = .array(["transaction", "batch", "history-system"].map { .object(JSONObject([("code", .string($0))])) })
        var statement = JSONObject()
        statement["resourceType"] = .string("CapabilityStatement")
        statement["status"] = .string("active")
        statement["date"] = .string("2026-11-27")
        statement["publisher"] = .string("HealthHub")
        statement["kind"] = .string("instance")
        statement["software"] = .object(JSONObject([("name", .string("HealthHub")), ("version", .string(HealthHubVersion.current))]))
        statement["implementation"] = .object(JSONObject([("description", .string("HealthHub FHIR R4 server"))]))
        statement["fhirVersion"] = .string("4.0.1")
        statement["format"] = .array([.string("application/fhir+json"), .string("json")])
        statement["patchFormat"] = .array([.string("application/json-patch+json")])
        statement["rest"] = .array([.object(rest)])
        return .object(statement)
    }

    func revIncludes(for type: String) -> [String] {
        var out: [String] = []
        for source in definitions.resourceTypes {
            for p in registry.all(for: source) where p.type == .reference && registry.isSupported(p) {
                if p.definition.targets.contains(type) { out.append("\(source):\(p.code)") }
            }
        }
        return out
    }
}
