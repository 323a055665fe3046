import Foundation
import Kernel

/// The FHIR R4 (4.0.1) definitions the server runs on: the element model of every resource and
/// data type, every SearchParameter and the Patient compartment. Generated from the official
/// package by `scripts/gen-fhir-definitions.py` and bundled with the binary.
package final class FHIRDefinitions: Sendable {
    package let structures: [String: StructureDefinition]
    package let searchParameters: [SearchParameterDefinition]
    /// Resource type -> the search parameters that put it in a patient's compartment.
    package let patientCompartment: [String: [String]]
    /// Every concrete resource type name, sorted.
    package let resourceTypes: [String]

    package init(structures: [String: StructureDefinition], searchParameters: [SearchParameterDefinition], patientCompartment: [String: [String]]) {
        self.structures = structures
        self.searchParameters = searchParameters
        self.patientCompartment = patientCompartment
        self.resourceTypes = structures.values.filter { $0.kind == .resource && !$0.isAbstract }.map(\.name).sorted()
    }

    /// Loads the bundled definitions.
    package static func loadBundled() throws -> FHIRDefinitions {
        guard let dir = Bundle.module.url(forResource: "Definitions", withExtension: nil) else {
            throw DefinitionsError.missing("Definitions folder in the FHIR resource bundle")
        }
        return try load(from: dir)
    }

    package static func load(from directory: URL) throws -> FHIRDefinitions {
        func read(_ name: String) throws -> JSON {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            return try JSON.parse(data)
        }
        guard let structuresJSON = try read("structures.json").objectValue else { throw DefinitionsError.malformed("structures.json") }
        var structures: [String: StructureDefinition] = [:]
        for (name, value) in structuresJSON.entries {
            structures[name] = try StructureDefinition(name: name, json: value)
        }
        guard let paramsJSON = try read("search-parameters.json").arrayValue else { throw DefinitionsError.malformed("search-parameters.json") }
        let params = try paramsJSON.map(SearchParameterDefinition.init(json:))
        guard let compJSON = try read("compartment-patient.json").objectValue else { throw DefinitionsError.malformed("compartment-patient.json") }
        var compartment: [String: [String]] = [:]
        for (type, value) in compJSON.entries {
            let list = value.arrayValue?.compactMap(\.stringValue) ?? []
            if !list.isEmpty { compartment[type] = list }
        }
        return FHIRDefinitions(structures: structures, searchParameters: params, patientCompartment: compartment)
    }

    package func isResourceType(_ name: String) -> Bool {
        guard let s = structures[name] else { return false }
        return s.kind == .resource && !s.isAbstract
    }

    /// The child elements at a position in the element tree.
    package func children(of position: ElementPosition) -> [String: ElementDefinition] {
        structures[position.structure]?.children[position.path] ?? [:]
    }

    /// Finds the definition of JSON property `name` at `position`, resolving choice types
    /// (`valueQuantity` -> `value[x]` with type Quantity).
    package func element(named name: String, at position: ElementPosition) -> ResolvedElement? {
        let kids = children(of: position)
        if let def = kids[name], !def.isChoice {
            return ResolvedElement(definition: def, typeCode: def.types.count == 1 ? def.types[0].code : nil)
        }
        // Choice: find the longest prefix that names a choice element.
        for (childName, def) in kids where def.isChoice {
            let base = String(childName.dropLast(3))
            guard name.hasPrefix(base), name.count > base.count else { continue }
            let suffix = name.dropFirst(base.count)
            if let t = def.types.first(where: { $0.code.choiceSuffix == suffix }) {
                return ResolvedElement(definition: def, typeCode: t.code)
            }
        }
        return nil
    }

    /// The position of the children of an element of the given type.
    package func position(descending element: ResolvedElement) -> ElementPosition? {
        let def = element.definition
        if let ref = def.contentReference {
            let structure = String(ref.prefix { $0 != "." })
            return ElementPosition(structure: structure, path: ref)
        }
        guard let code = element.typeCode else { return nil }
        if code == "BackboneElement" || code == "Element" {
            return ElementPosition(structure: def.structure, path: def.path)
        }
        return ElementPosition(structure: code, path: code)
    }
}

package enum DefinitionsError: Error, CustomStringConvertible {
    case missing(String)
    case malformed(String)
    package var description: String {
        switch self {
        case .missing(let what): "FHIR definitions missing: \(what)"
        case .malformed(let what): "FHIR definitions malformed: \(what)"
        }
    }
}

/// A place in the element tree: a structure (resource or data type) and an element path in it.
/// The root of a type is `ElementPosition(structure: "Patient", path: "Patient")`.
package struct ElementPosition: Sendable, Hashable {
    package let structure: String
    package let path: String
    package init(structure: String, path: String) {
        self.structure = structure
        self.path = path
    }
    package static func root(_ type: String) -> ElementPosition { ElementPosition(structure: type, path: type) }
}

package struct ResolvedElement: Sendable {
    package let definition: ElementDefinition
    /// The concrete type; nil only for a choice element named without a type suffix.
    package let typeCode: String?
}

package struct StructureDefinition: Sendable {
    package enum Kind: String, Sendable {
        case resource
        case complexType = "complex-type"
        case primitiveType = "primitive-type"
    }
    package let name: String
    package let kind: Kind
    package let isAbstract: Bool
    package let base: String?
    package let elements: [String: ElementDefinition]
    /// Parent path -> child name -> definition.
    package let children: [String: [String: ElementDefinition]]

    init(name: String, json: JSON) throws {
        guard let kindText = json["kind"]?.stringValue, let kind = Kind(rawValue: kindText),
            let elementsJSON = json["elements"]?.objectValue
        else {
            throw DefinitionsError.malformed("structure \(name)")
        }
        self.name = name
        self.kind = kind
        self.isAbstract = json["abstract"]?.boolValue ?? false
        self.base = json["base"]?.stringValue
        var elements: [String: ElementDefinition] = [:]
        var children: [String: [String: ElementDefinition]] = [:]
        for (path, value) in elementsJSON.entries {
            let def = try ElementDefinition(structure: name, path: path, json: value)
            elements[path] = def
            children[def.parentPath, default: [:]][def.name] = def
        }
        self.elements = elements
        self.children = children
    }
}

package struct ElementDefinition: Sendable {
    package let structure: String
    package let path: String
    package let min: Int
    /// nil means unbounded (`*`).
    package let max: Int?
    package let types: [ElementTypeRef]
    package let contentReference: String?
    /// Allowed codes of a required binding that the package enumerates.
    package let requiredCodes: Set<String>?
    /// Part of the `_summary=true` view.
    package let isSummary: Bool

    package var name: String { String(path[path.index(after: path.lastIndex(of: ".")!)...]) }
    package var parentPath: String { String(path[..<path.lastIndex(of: ".")!]) }
    package var isChoice: Bool { path.hasSuffix("[x]") }
    package var isArray: Bool { max.map { $0 > 1 } ?? true }
    /// The JSON property name without `[x]`.
    package var baseName: String { isChoice ? String(name.dropLast(3)) : name }

    init(structure: String, path: String, json: JSON) throws {
        self.structure = structure
        self.path = path
        self.min = json["min"]?.numberText.flatMap { Int($0) } ?? 0
        let maxText = json["max"]?.stringValue ?? "*"
        self.max = maxText == "*" ? nil : Int(maxText)
        self.contentReference = json["ref"]?.stringValue
        self.types = (json["types"]?.arrayValue ?? []).compactMap { t in
            guard let code = t["code"]?.stringValue else { return nil }
            return ElementTypeRef(code: code, targets: t["targets"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        self.requiredCodes = json["codes"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
        self.isSummary = json["summary"]?.boolValue ?? false
    }
}

package struct ElementTypeRef: Sendable {
    package let code: String
    /// Allowed target resource types of a Reference or canonical (empty = any).
    package let targets: [String]
}

extension String {
    /// The suffix a type gives a choice element: `dateTime` -> `DateTime`, `Quantity` -> `Quantity`.
    package var choiceSuffix: String { prefix(1).uppercased() + dropFirst() }
}

/// One official SearchParameter.
package struct SearchParameterDefinition: Sendable {
    package enum ParamType: String, Sendable {
        case string, token, date, reference, number, quantity, uri, composite, special
    }
    package let url: String
    package let code: String
    package let base: [String]
    package let type: ParamType
    package let expression: String?
    package let targets: [String]

    init(json: JSON) throws {
        guard let url = json["url"]?.stringValue, let code = json["code"]?.stringValue,
            let typeText = json["type"]?.stringValue, let type = ParamType(rawValue: typeText)
        else {
            throw DefinitionsError.malformed("search parameter \(json["url"]?.stringValue ?? "?")")
        }
        self.url = url
        self.code = code
        self.type = type
        self.base = json["base"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.expression = json["expression"]?.stringValue
        self.targets = json["target"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    package init(url: String, code: String, base: [String], type: ParamType, expression: String?, targets: [String] = []) {
        self.url = url
        self.code = code
        self.base = base
        self.type = type
        self.expression = expression
        self.targets = targets
    }
}
