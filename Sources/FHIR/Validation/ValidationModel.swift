/// The element model of `FHIRDefinitions`, compiled once into lookup tables keyed by JSON
/// property name, so that validating a resource is one dictionary lookup per property.
final class ValidationModel: Sendable {
    let nodes: [ValidationNode]
    /// Concrete resource type -> index of its root node.
    let resourceRoots: [String: Int]

    init(definitions: FHIRDefinitions) {
        var builder = Builder(definitions: definitions)
        var roots: [String: Int] = [:]
        for type in definitions.resourceTypes {
            roots[type] = builder.index(of: .root(type))
        }
        builder.drain()
        nodes = builder.nodes.map { $0! }
        resourceRoots = roots
    }

    private struct Builder {
        let definitions: FHIRDefinitions
        var nodes: [ValidationNode?] = []
        var indexByPosition: [ElementPosition: Int] = [:]
        var pending: [ElementPosition] = []

        init(definitions: FHIRDefinitions) { self.definitions = definitions }

        mutating func index(of position: ElementPosition) -> Int {
            if let i = indexByPosition[position] { return i }
            let i = nodes.count
            nodes.append(nil)
            indexByPosition[position] = i
            pending.append(position)
            return i
        }

        mutating func drain() {
            while let position = pending.popLast() {
                let i = indexByPosition[position]!
                nodes[i] = build(position)
            }
        }

        mutating func build(_ position: ElementPosition) -> ValidationNode {
            let structure = definitions.structures[position.structure]
            let isPrimitiveElement = structure?.kind == .primitiveType && position.path == position.structure
            let isResourceRoot = structure?.kind == .resource && position.path == position.structure
            var properties: [String: ValidationProperty] = [:]
            var required: [(name: String, slot: Int)] = []
            var choiceGroups = 0
            // Deterministic order (definitions are dictionaries).
            let children = definitions.children(of: position).sorted { $0.key < $1.key }
            for (name, def) in children {
                // The value of a primitive lives in the JSON property itself, not in `_name`.
                if isPrimitiveElement && name == "value" { continue }
                var slot = -1
                if def.min >= 1 && required.count < 64 {
                    slot = required.count
                    required.append((def.name, slot))
                }
                if def.isChoice {
                    let group = choiceGroups
                    choiceGroups += 1
                    for type in def.types {
                        let jsonName = def.baseName + type.code.choiceSuffix
                        add(
                            jsonName, def: def, typeRef: type, kind: kind(of: def, typeCode: type.code, resourceRoot: false, name: jsonName),
                            slot: slot, group: group, into: &properties)
                    }
                } else if def.contentReference != nil {
                    let ref = def.contentReference!
                    let target = ElementPosition(structure: String(ref.prefix { $0 != "." }), path: ref)
                    add(name, def: def, typeRef: nil, kind: .complex(index(of: target)), slot: slot, group: -1, into: &properties)
                } else if let type = def.types.first {
                    add(
                        name, def: def, typeRef: type, kind: kind(of: def, typeCode: type.code, resourceRoot: isResourceRoot, name: name),
                        slot: slot, group: -1, into: &properties)
                }
            }
            return ValidationNode(
                properties: properties,
                required: required.map(\.name),
                choiceGroupCount: choiceGroups,
                isReference: position.structure == "Reference" && position.path == "Reference",
                isExtension: position.structure == "Extension" && position.path == "Extension")
        }

        mutating func kind(of def: ElementDefinition, typeCode: String, resourceRoot: Bool, name: String) -> ValidationProperty.Kind {
            // Resource.id is typed System.String in the snapshots but is an `id`.
            if resourceRoot && name == "id" { return .primitive(.id) }
            if typeCode == "Resource" || typeCode == "DomainResource" { return .resource }
            if definitions.structures[typeCode]?.kind == .primitiveType, let p = FHIRPrimitive(typeCode: typeCode) {
                return .primitive(p)
            }
            if typeCode == "BackboneElement" || typeCode == "Element" {
                return .complex(index(of: ElementPosition(structure: def.structure, path: def.path)))
            }
            return .complex(index(of: .root(typeCode)))
        }

        mutating func add(
            _ jsonName: String, def: ElementDefinition, typeRef: ElementTypeRef?, kind: ValidationProperty.Kind,
            slot: Int, group: Int, into properties: inout [String: ValidationProperty]
        ) {
            var targets: [String]?
            if let typeRef, typeRef.code == "Reference", !typeRef.targets.isEmpty, !typeRef.targets.contains("Resource") {
                targets = typeRef.targets
            }
            let isPrimitive: Bool
            var primitiveType: String?
            if case .primitive = kind { isPrimitive = true; primitiveType = typeRef?.code } else { isPrimitive = false }
            let requiredCodes: Set<String>? = if case .primitive(.code) = kind { def.requiredCodes } else { nil }
            properties[jsonName] = ValidationProperty(
                name: jsonName, path: def.path, kind: kind, isArray: def.isArray, max: def.max,
                requiredSlot: slot, choiceGroup: group, requiredCodes: requiredCodes, referenceTargets: targets,
                sibling: isPrimitive ? "_" + jsonName : nil, isSibling: false,
                isContained: kind.isResource && def.name == "contained")
            if isPrimitive {
                // `_name` carries the id and extensions of the primitive.
                let elementNode: Int
                if let primitiveType, definitions.structures[primitiveType] != nil {
                    elementNode = index(of: .root(primitiveType))
                } else {
                    elementNode = index(of: .root("string"))
                }
                properties["_" + jsonName] = ValidationProperty(
                    name: jsonName, path: def.path, kind: .primitiveElement(elementNode), isArray: def.isArray, max: def.max,
                    requiredSlot: slot, choiceGroup: -1, requiredCodes: nil, referenceTargets: nil,
                    sibling: jsonName, isSibling: true, isContained: false)
            }
        }
    }
}

/// The properties allowed in one JSON object: a resource root, a data type, or a backbone element.
final class ValidationNode: Sendable {
    let properties: [String: ValidationProperty]
    /// Names of required elements; element `i` sets bit `i` of the presence mask.
    let required: [String]
    let requiredMask: UInt64
    let choiceGroupCount: Int
    let isReference: Bool
    let isExtension: Bool

    init(properties: [String: ValidationProperty], required: [String], choiceGroupCount: Int, isReference: Bool, isExtension: Bool) {
        self.properties = properties
        self.required = required
        self.requiredMask = required.isEmpty ? 0 : (required.count >= 64 ? ~0 : (UInt64(1) << UInt64(required.count)) - 1)
        self.choiceGroupCount = choiceGroupCount
        self.isReference = isReference
        self.isExtension = isExtension
    }
}

/// One JSON property name allowed at a node (choice variants and `_name` siblings get their own).
final class ValidationProperty: Sendable {
    enum Kind: Sendable {
        case primitive(FHIRPrimitive)
        /// An object validated against the node at this index.
        case complex(Int)
        /// A nested resource (`contained`, `Bundle.entry.resource`, `Parameters.parameter.resource`).
        case resource
        /// The `_name` object of a primitive (id and extensions), validated against the node at this index.
        case primitiveElement(Int)

        var isResource: Bool { if case .resource = self { true } else { false } }
    }

    /// JSON name without a leading underscore (`birthDate`, `valueQuantity`); used in locations.
    let name: String
    /// The element's definition path (`Patient.gender`, `Observation.value[x]`); used in messages.
    let path: String
    let kind: Kind
    let isArray: Bool
    /// nil = unbounded.
    let max: Int?
    /// Bit in the node's required mask, or -1.
    let requiredSlot: Int
    /// Index of the choice element (`value[x]`) this variant belongs to, or -1.
    let choiceGroup: Int
    let requiredCodes: Set<String>?
    /// Allowed reference target types (nil = any).
    let referenceTargets: [String]?
    /// The JSON name of the paired primitive property (`_name` for `name` and vice versa).
    let sibling: String?
    /// Whether this is the `_name` half of a primitive.
    let isSibling: Bool
    let isContained: Bool

    init(
        name: String, path: String, kind: Kind, isArray: Bool, max: Int?, requiredSlot: Int, choiceGroup: Int,
        requiredCodes: Set<String>?, referenceTargets: [String]?, sibling: String?, isSibling: Bool, isContained: Bool
    ) {
        self.name = name
        self.path = path
        self.kind = kind
        self.isArray = isArray
        self.max = max
        self.requiredSlot = requiredSlot
        self.choiceGroup = choiceGroup
        self.requiredCodes = requiredCodes
        self.referenceTargets = referenceTargets
        self.sibling = sibling
        self.isSibling = isSibling
        self.isContained = isContained
    }

    var isPrimitiveLike: Bool {
        switch kind {
        case .primitive, .primitiveElement: true
        default: false
        }
    }
}
