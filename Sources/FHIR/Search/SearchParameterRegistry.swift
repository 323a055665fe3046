import Foundation
import HTTPTypes

/// The official R4 search parameters by resource type, with their FHIRPath expressions parsed
/// once. Parameters the server cannot index (composite, special, no expression) are kept out
/// of `indexed` and reported as unsupported in the CapabilityStatement.
package struct SearchParameterRegistry: Sendable {
    package struct Parameter: Sendable {
        package let definition: SearchParameterDefinition
        package let expression: FHIRPathExpression?
        package var code: String { definition.code }
        package var type: SearchParameterDefinition.ParamType { definition.type }
    }

    /// Parameters handled by columns of the resource table rather than index rows.
    package static let columnParameters: Set<String> = ["_id", "_lastUpdated"]
    static let indexableTypes: Set<SearchParameterDefinition.ParamType> = [.string, .token, .date, .reference, .number, .quantity, .uri]

    private let byType: [String: [String: Parameter]]
    private let indexedByType: [String: [Parameter]]

    package init(definitions: FHIRDefinitions) {
        var byType: [String: [String: Parameter]] = [:]
        for def in definitions.searchParameters {
            var parsed: FHIRPathExpression?
            if let text = def.expression, Self.indexableTypes.contains(def.type) {
                parsed = try? FHIRPathExpression(text)
            }
            let param = Parameter(definition: def, expression: parsed)
            var types = def.base.filter { definitions.isResourceType($0) }
            if def.base.contains("Resource") {
                types = definitions.resourceTypes
            } else if def.base.contains("DomainResource") {
                types += definitions.resourceTypes.filter { definitions.structures[$0]?.base == "DomainResource" }
            }
            for type in types {
                byType[type, default: [:]][def.code] = param
            }
        }
        self.byType = byType
        self.indexedByType = byType.mapValues { params in
            params.values.filter { $0.expression != nil && !Self.columnParameters.contains($0.code) }.sorted { $0.code < $1.code }
        }
    }

    package func parameter(_ code: String, for type: String) -> Parameter? { byType[type]?[code] }

    /// Parameters whose values are extracted into index rows at write time.
    package func indexed(for type: String) -> [Parameter] { indexedByType[type] ?? [] }

    /// Whether a search on this parameter is answered by the server.
    package func isSupported(_ param: Parameter) -> Bool {
        Self.columnParameters.contains(param.code) || param.expression != nil
    }

    package func all(for type: String) -> [Parameter] { (byType[type] ?? [:]).values.sorted { $0.code < $1.code } }
}
