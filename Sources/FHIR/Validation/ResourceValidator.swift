import Kernel

/// Structural validation of FHIR R4 JSON resources against the base specification: known
/// elements, cardinality, FHIR JSON rules (arrays, no empty values or nulls), primitive formats,
/// required code bindings, choice types, nested and contained resources, and reference syntax.
///
/// Profiles, invariants (FHIRPath constraints) and terminology beyond the enumerated required
/// bindings are out of scope.
package struct ResourceValidator: Sendable {
    package let definitions: FHIRDefinitions
    let model: ValidationModel

    package init(definitions: FHIRDefinitions) {
        self.definitions = definitions
        self.model = ValidationModel(definitions: definitions)
    }

    /// All issues (not just the first) for a resource; `expectedType` when the URL fixes the type.
    /// At most this many issues are named: a body of a million empty objects must not answer
    /// with a million issues (or build them in memory).
    package static let maxIssues = 100

    package func validate(_ resource: JSON, expectedType: String? = nil) -> [ValidationIssue] {
        var walker = ValidationWalker(model: model)
        walker.validateTopLevel(resource, expectedType: expectedType)
        guard walker.unreported > 0 else { return walker.issues }
        return walker.issues + [
            ValidationIssue(
                code: .tooCostly, location: resource["resourceType"]?.stringValue ?? "Resource",
                message: "\(walker.unreported) more problems of the same kind are not listed")
        ]
    }
}

private struct PathSegment {
    let name: String
    /// Array index, or -1.
    let index: Int
}

private struct ValidationWalker {
    let model: ValidationModel
    var issues: [ValidationIssue] = []
    /// Issues found past `ResourceValidator.maxIssues`.
    var unreported = 0
    var path: [PathSegment] = []
    /// Ids of the contained resources of the resource whose content is being walked.
    var containedIDs: [String] = []
    /// Whether the walk is inside a contained resource (where `#` refers to the container).
    var inContained = false

    init(model: ValidationModel) {
        self.model = model
        path.reserveCapacity(16)
    }

    // MARK: Issues

    func location(child: String? = nil) -> String {
        var s = ""
        for seg in path {
            if !s.isEmpty { s += "." }
            s += seg.name
            if seg.index >= 0 { s += "[\(seg.index)]" }
        }
        if let child { s += s.isEmpty ? child : "." + child }
        return s
    }

    mutating func report(_ code: ValidationIssue.Code, _ message: String, child: String? = nil) {
        guard issues.count < ResourceValidator.maxIssues else {
            unreported += 1
            return
        }
        issues.append(ValidationIssue(code: code, location: location(child: child), message: message))
    }

    /// A property name for a message, shortened so that a huge key cannot flood logs.
    static func displayName(_ key: String) -> String {
        key.utf8.count <= 64 ? key : String(key.prefix(60)) + "..."
    }

    // MARK: Resources

    mutating func validateTopLevel(_ value: JSON, expectedType: String?) {
        let rootName = value["resourceType"]?.stringValue.flatMap { model.resourceRoots[$0] != nil ? $0 : nil } ?? expectedType ?? "Resource"
        path = [PathSegment(name: rootName, index: -1)]
        validateResource(value, expectedType: expectedType, contained: false)
    }

    /// Validates a resource at the current path (which already names it).
    mutating func validateResource(_ value: JSON, expectedType: String?, contained: Bool) {
        guard case .object(let object) = value else {
            report(.structure, "A resource must be a JSON object")
            return
        }
        guard let typeValue = object["resourceType"] else {
            report(.required, "Missing required element 'resourceType'")
            return
        }
        guard case .string(let type) = typeValue, let root = model.resourceRoots[type] else {
            report(.invalid, "Element 'resourceType' does not name a known concrete FHIR R4 resource type", child: "resourceType")
            return
        }
        if let expectedType, expectedType != type {
            report(.invalid, "Resource type does not match the expected type '\(expectedType)'", child: "resourceType")
        }

        let savedIDs = containedIDs
        let savedInContained = inContained
        defer {
            containedIDs = savedIDs
            inContained = savedInContained
        }
        if contained {
            // Contained resources share the local reference scope of their container.
            inContained = true
            if object["id"] == nil {
                report(.required, "A contained resource must have an 'id'")
            }
            if object["contained"] != nil {
                report(.structure, "A contained resource must not contain other resources", child: "contained")
            }
            if let meta = object["meta"]?.objectValue, meta["versionId"] != nil || meta["lastUpdated"] != nil {
                report(.invalid, "A contained resource must not have 'meta.versionId' or 'meta.lastUpdated'", child: "meta")
            }
        } else {
            inContained = false
            containedIDs = []
            if case .array(let items)? = object["contained"] {
                for item in items {
                    if let id = item["id"]?.stringValue { containedIDs.append(id) }
                }
            }
        }
        walkObject(object, node: model.nodes[root], isResourceRoot: true, referenceTargets: nil)
    }

    // MARK: Objects

    mutating func walkObject(_ object: JSONObject, node: ValidationNode, isResourceRoot: Bool, referenceTargets: [String]?) {
        var present: UInt64 = 0
        var choicesSeen: UInt64 = 0
        var hasValueChoice = false
        for entry in object.entries {
            guard let property = node.properties[entry.key] else {
                if isResourceRoot && entry.key == "resourceType" { continue }
                report(.structure, "Unknown element '\(Self.displayName(entry.key))'", child: entry.key)
                continue
            }
            if property.requiredSlot >= 0 { present |= UInt64(1) << UInt64(property.requiredSlot) }
            if property.choiceGroup >= 0 {
                hasValueChoice = true
                if property.choiceGroup < 64 {
                    let bit = UInt64(1) << UInt64(property.choiceGroup)
                    if choicesSeen & bit != 0 {
                        report(.structure, "Only one type may be given for choice element '\(property.path)'", child: entry.key)
                    }
                    choicesSeen |= bit
                }
            }
            validateProperty(property, entry.value, in: object)
        }
        if present != node.requiredMask {
            for (slot, name) in node.required.enumerated() where present & (UInt64(1) << UInt64(slot)) == 0 {
                report(.required, "Missing required element '\(name)'")
            }
        }
        if node.isExtension && hasValueChoice && object["extension"] != nil {
            report(.invalid, "An extension must have either extensions or a value, not both")
        }
        if node.isReference, case .string(let reference)? = object["reference"], !reference.isEmpty {
            checkReference(reference, targets: referenceTargets)
        }
    }

    mutating func validateProperty(_ property: ValidationProperty, _ value: JSON, in object: JSONObject) {
        if property.max == 0 {
            report(.structure, "Element '\(property.path)' is not allowed here (maximum cardinality 0)", child: property.name)
            return
        }
        if property.isArray {
            guard case .array(let items) = value else {
                path.append(PathSegment(name: property.name, index: -1))
                if case .null = value {
                    report(.structure, "Element must not be null")
                } else {
                    report(.structure, "Element must be an array (it repeats)")
                    validateValue(property, value)
                }
                path.removeLast()
                return
            }
            if items.isEmpty {
                report(.structure, "Element must not be an empty array", child: property.name)
                return
            }
            if let max = property.max, items.count > max {
                report(.structure, "Element '\(property.path)' allows at most \(max) items", child: property.name)
            }
            var siblingItems: [JSON]?
            if property.isPrimitiveLike, let siblingKey = property.sibling, let sibling = object[siblingKey] {
                siblingItems = sibling.arrayValue
                if property.isSibling, let s = siblingItems, s.count != items.count {
                    report(.structure, "Element '_\(property.name)' must have as many entries as '\(property.name)'", child: property.name)
                }
            }
            for (i, item) in items.enumerated() {
                path.append(PathSegment(name: property.name, index: i))
                if case .null = item {
                    // A null stands in for a primitive whose value or extensions are in the other array.
                    let partnerPresent: Bool
                    if let s = siblingItems, i < s.count {
                        if case .null = s[i] { partnerPresent = false } else { partnerPresent = true }
                    } else {
                        partnerPresent = false
                    }
                    if !partnerPresent {
                        report(
                            .structure,
                            property.isPrimitiveLike
                                ? "Null is only allowed in a primitive array when the matching '_' array has an entry at that index"
                                : "Element must not be null")
                    }
                } else {
                    validateValue(property, item)
                }
                path.removeLast()
            }
        } else {
            path.append(PathSegment(name: property.name, index: -1))
            switch value {
            case .array:
                report(.structure, "Element must not be an array (maximum cardinality 1)")
            case .null:
                report(.structure, "Element must not be null")
            default:
                validateValue(property, value)
            }
            path.removeLast()
        }
    }

    /// Validates one (non-null, non-array) value at the current path.
    mutating func validateValue(_ property: ValidationProperty, _ value: JSON) {
        switch property.kind {
        case .primitive(let primitive):
            checkPrimitive(primitive, value, property: property)
        case .complex(let index):
            guard case .object(let object) = value else {
                report(.structure, "Element must be a JSON object")
                return
            }
            if object.isEmpty {
                report(.structure, "Element must not be an empty object")
                return
            }
            walkObject(object, node: model.nodes[index], isResourceRoot: false, referenceTargets: property.referenceTargets)
        case .primitiveElement(let index):
            guard case .object(let object) = value else {
                report(.structure, "Element '_\(property.name)' must be a JSON object")
                return
            }
            if object.isEmpty {
                report(.structure, "Element must not be an empty object")
                return
            }
            walkObject(object, node: model.nodes[index], isResourceRoot: false, referenceTargets: nil)
        case .resource:
            validateResource(value, expectedType: nil, contained: property.isContained)
        }
    }

    mutating func checkPrimitive(_ primitive: FHIRPrimitive, _ value: JSON, property: ValidationProperty) {
        switch primitive {
        case .boolean:
            if case .bool = value { return }
            report(.value, "Element '\(property.path)' must be a JSON boolean")
        case .integer, .positiveInt, .unsignedInt, .decimal:
            guard case .number(let text) = value else {
                report(.value, "Element '\(property.path)' must be a JSON number")
                return
            }
            if !primitive.isValidNumber(text) {
                report(.value, "Invalid \(primitive.typeCode) value for element '\(property.path)'")
            }
        default:
            guard case .string(let text) = value else {
                report(.value, "Element '\(property.path)' must be a JSON string")
                return
            }
            if text.isEmpty {
                report(.value, "Element '\(property.path)' must not be an empty string")
                return
            }
            if !primitive.isValidString(text) {
                report(.value, "Invalid \(primitive.typeCode) format for element '\(property.path)'")
                return
            }
            if primitive == .xhtml, let problem = NarrativeSafety.problem(text) {
                report(.invalid, "Narrative '\(property.path)' must hold formatting only (FHIR txt-1, txt-2): \(problem)")
                return
            }
            if let codes = property.requiredCodes, !codes.contains(text) {
                report(.codeInvalid, "Element '\(property.path)' must be one of the codes of its required value set")
            }
        }
    }

    // MARK: References

    /// Checks `Reference.reference` (the current path is the Reference object).
    mutating func checkReference(_ reference: String, targets: [String]?) {
        let result = FHIRFormat.withUTF8(reference) { ReferenceSyntax.classify($0) }
        switch result {
        case .invalid:
            report(.value, "Invalid reference format (expected Type/id, an absolute URL, #id, urn:uuid: or urn:oid:)", child: "reference")
        case .absolute:
            break
        case .local(let range):
            if range.isEmpty {
                if !inContained {
                    report(.value, "Reference '#' to the container is only allowed inside a contained resource", child: "reference")
                }
            } else {
                let id = String(decoding: reference.utf8[reference.utf8.index(reference.utf8.startIndex, offsetBy: range.lowerBound)...], as: UTF8.self)
                if !containedIDs.contains(id) {
                    report(.value, "Local reference does not match the id of any contained resource", child: "reference")
                }
            }
        case .relative(let typeEnd):
            let type = String(decoding: reference.utf8.prefix(typeEnd), as: UTF8.self)
            guard model.resourceRoots[type] != nil else {
                report(.value, "Reference does not name a known resource type", child: "reference")
                return
            }
            if let targets, !targets.contains(type) {
                report(.value, "Reference target type is not allowed here (allowed: \(targets.joined(separator: ", ")))", child: "reference")
            }
        }
    }
}

/// The forms of `Reference.reference`.
enum ReferenceSyntax {
    case invalid
    /// An absolute URI (`http(s)://...`, `urn:uuid:...`, `urn:oid:...`, other schemes).
    case absolute
    /// `#id` (the range of the id, empty for `#`).
    case local(Range<Int>)
    /// `Type/id`, `Type/id/_history/vid` or a conditional `Type?query`; carries the length of `Type`.
    case relative(typeEnd: Int)

    static func classify(_ b: UnsafeBufferPointer<UInt8>) -> ReferenceSyntax {
        guard let first = b.first else { return .invalid }
        if first == UInt8(ascii: "#") {
            if b.count == 1 { return .local(1..<1) }
            for k in 1..<b.count where !FHIRFormat.isIDChar(b[k]) { return .invalid }
            return b.count - 1 <= 64 ? .local(1..<b.count) : .invalid
        }
        if FHIRFormat.hasPrefix(b, "urn:uuid:") {
            return FHIRFormat.isUUIDBody(b, from: 9) ? .absolute : .invalid
        }
        if FHIRFormat.hasPrefix(b, "urn:oid:") {
            return FHIRFormat.isOIDBody(b, from: 8) ? .absolute : .invalid
        }
        // A scheme: [A-Za-z][A-Za-z0-9+.-]*:
        var i = 0
        if isAlpha(first) {
            i = 1
            while i < b.count, isAlpha(b[i]) || FHIRFormat.isDigit(b[i]) || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: ".") {
                i += 1
            }
            if i < b.count, b[i] == UInt8(ascii: ":") {
                // Absolute URL: no whitespace, something after the scheme.
                guard i + 1 < b.count else { return .invalid }
                for c in b where c <= 0x20 || c == 0x7F { return .invalid }
                return .absolute
            }
        }
        // Relative: Type, then '/' id ('/_history/' vid)? or '?' query.
        var typeEnd = 0
        guard b[0] >= 0x41, b[0] <= 0x5A else { return .invalid }
        while typeEnd < b.count, isAlpha(b[typeEnd]) { typeEnd += 1 }
        guard typeEnd < b.count else { return .invalid }
        if b[typeEnd] == UInt8(ascii: "?") {
            guard typeEnd + 1 < b.count else { return .invalid }
            for k in (typeEnd + 1)..<b.count where b[k] < 0x20 || b[k] == 0x7F { return .invalid }
            return .relative(typeEnd: typeEnd)
        }
        guard b[typeEnd] == UInt8(ascii: "/") else { return .invalid }
        var j = typeEnd + 1
        let idStart = j
        while j < b.count, FHIRFormat.isIDChar(b[j]) { j += 1 }
        guard j > idStart, j - idStart <= 64 else { return .invalid }
        if j == b.count { return .relative(typeEnd: typeEnd) }
        // '/_history/' vid
        guard FHIRFormat.hasPrefix(b, "/_history/", at: j) else { return .invalid }
        j += 10
        let vidStart = j
        while j < b.count, FHIRFormat.isIDChar(b[j]) { j += 1 }
        guard j == b.count, j - vidStart >= 1, j - vidStart <= 64 else { return .invalid }
        return .relative(typeEnd: typeEnd)
    }

    @inline(__always)
    static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
}
