import Kernel

/// Evaluates parsed FHIRPath expressions against resources, typing every node from the R4
/// element model. Stateless and `Sendable`: share one per server.
package struct FHIRPathEvaluator: Sendable {
    package let definitions: FHIRDefinitions

    package init(definitions: FHIRDefinitions) {
        self.definitions = definitions
    }

    /// Evaluates against a resource (its `resourceType` gives the root type).
    package func evaluate(_ expression: FHIRPathExpression, on resource: JSON) -> [FHIRPathNode] {
        let root = resourceNode(resource, definitions: definitions) ?? FHIRPathNode(value: resource, type: nil, position: nil)
        let run = FHIRPathRun(defs: definitions, root: root)
        return run.eval(expression.ast, [root])
    }
}

/// A node for a resource, typed by its `resourceType`; nil when it has none.
private func resourceNode(_ value: JSON, definitions: FHIRDefinitions) -> FHIRPathNode? {
    guard case .object(let object) = value, let type = object["resourceType"]?.stringValue else { return nil }
    let position: ElementPosition? = definitions.structures[type] != nil ? .root(type) : nil
    return FHIRPathNode(value: value, type: type, position: position)
}

private let trueNode = FHIRPathNode(value: .bool(true), type: "boolean", position: nil)
private let falseNode = FHIRPathNode(value: .bool(false), type: "boolean", position: nil)

@inline(__always) private func boolNode(_ b: Bool) -> FHIRPathNode { b ? trueNode : falseNode }

/// One evaluation: the definitions and the root resource (`%resource`, `#id` references).
private struct FHIRPathRun {
    let defs: FHIRDefinitions
    let root: FHIRPathNode

    func eval(_ ast: FHIRPathAST, _ focus: [FHIRPathNode]) -> [FHIRPathNode] {
        switch ast {
        case .literal(let node):
            return [node]
        case .emptySet:
            return []
        case .this:
            return focus
        case .root:
            return [root]
        case .identifier(let name):
            if let c = name.utf8.first, c >= 65 && c <= 90 {
                return focus.filter { isType($0.type, name) }
            }
            var out: [FHIRPathNode] = []
            for item in focus { navigate(item, name, into: &out) }
            return out
        case .member(let base, let name):
            let input = eval(base, focus)
            var out: [FHIRPathNode] = []
            out.reserveCapacity(input.count)
            for item in input { navigate(item, name, into: &out) }
            return out
        case .function(let target, let function):
            let input = target.map { eval($0, focus) } ?? focus
            return call(function, on: input)
        case .indexer(let base, let indexExpr):
            let input = eval(base, focus)
            let idx = eval(indexExpr, focus)
            guard idx.count == 1, case .number(let text) = idx[0].value, let i = Int(text), i >= 0, i < input.count else { return [] }
            return [input[i]]
        case .union(let left, let right):
            var all = eval(left, focus)
            all.append(contentsOf: eval(right, focus))
            return distinct(all)
        case .equality(let left, let right, let negated):
            let a = eval(left, focus)
            if a.isEmpty { return [] }
            let b = eval(right, focus)
            if b.isEmpty { return [] }
            var equal = a.count == b.count
            if equal {
                for i in a.indices where !fhirPathEqual(a[i].value, b[i].value) {
                    equal = false
                    break
                }
            }
            return [boolNode(equal != negated)]
        case .logical(let op, let left, let right):
            let a = truth(eval(left, focus))
            switch op {
            case .and:
                if a == false { return [falseNode] }
                let b = truth(eval(right, focus))
                if b == false { return [falseNode] }
                return a == true && b == true ? [trueNode] : []
            case .or:
                if a == true { return [trueNode] }
                let b = truth(eval(right, focus))
                if b == true { return [trueNode] }
                return a == false && b == false ? [falseNode] : []
            case .xor:
                guard let a, let b = truth(eval(right, focus)) else { return [] }
                return [boolNode(a != b)]
            case .implies:
                if a == false { return [trueNode] }
                let b = truth(eval(right, focus))
                if b == true { return [trueNode] }
                if a == true, let b { return [boolNode(b)] }
                return []
            }
        case .isType(let base, let type):
            let input = eval(base, focus)
            guard input.count == 1 else { return [] }
            return [boolNode(isType(input[0].type, type))]
        case .asType(let base, let type):
            return eval(base, focus).filter { isType($0.type, type) }
        }
    }

    func call(_ function: FHIRPathFunction, on input: [FHIRPathNode]) -> [FHIRPathNode] {
        switch function {
        case .whereFilter(let criteria):
            return input.filter { isTrue(eval(criteria, [$0])) }
        case .exists(let criteria):
            guard let criteria else { return [boolNode(!input.isEmpty)] }
            return [boolNode(input.contains { isTrue(eval(criteria, [$0])) })]
        case .empty:
            return [boolNode(input.isEmpty)]
        case .not:
            guard let t = truth(input) else { return [] }
            return [boolNode(!t)]
        case .first:
            return input.first.map { [$0] } ?? []
        case .last:
            return input.last.map { [$0] } ?? []
        case .tail:
            return Array(input.dropFirst())
        case .count:
            return [FHIRPathNode(value: .number(String(input.count)), type: "integer", position: nil)]
        case .hasValue:
            guard input.count == 1 else { return [falseNode] }
            switch input[0].value {
            case .string, .number, .bool: return [trueNode]
            default: return [falseNode]
            }
        case .resolve:
            return input.compactMap(resolve)
        case .ofType(let type), .asType(let type):
            return input.filter { isType($0.type, type) }
        case .isType(let type):
            guard input.count == 1 else { return [] }
            return [boolNode(isType(input[0].type, type))]
        case .extensionNamed(let url):
            return extensions(of: input, url: url)
        case .hasExtension(let url):
            return [boolNode(!extensions(of: input, url: url).isEmpty)]
        }
    }

    // MARK: - Navigation

    /// Appends the children of `item` named `name` (a choice element by its base name).
    func navigate(_ item: FHIRPathNode, _ name: String, into out: inout [FHIRPathNode]) {
        guard case .object(let object) = item.value else { return }
        let nameLength = name.utf8.count
        for entry in object.entries {
            let key = entry.key
            if key == name {
                var type: String?
                var position: ElementPosition?
                if let at = item.position, let element = defs.element(named: key, at: at) {
                    type = element.typeCode ?? referencedType(element.definition)
                    position = defs.position(descending: element)
                }
                append(entry.value, type: type, position: position, into: &out)
                return
            }
            // A choice element: `value` -> `valueQuantity`.
            let keyUTF8 = key.utf8
            guard keyUTF8.count > nameLength, let at = item.position, key.hasPrefix(name) else { continue }
            let next = keyUTF8[keyUTF8.index(keyUTF8.startIndex, offsetBy: nameLength)]
            guard next >= 65 && next <= 90,
                let element = defs.element(named: key, at: at), element.definition.isChoice,
                element.definition.name.utf8.count == nameLength + 3
            else { continue }
            append(entry.value, type: element.typeCode, position: defs.position(descending: element), into: &out)
            return
        }
    }

    private func append(_ value: JSON, type: String?, position: ElementPosition?, into out: inout [FHIRPathNode]) {
        if case .array(let items) = value {
            for v in items { appendOne(v, type: type, position: position, into: &out) }
        } else {
            appendOne(value, type: type, position: position, into: &out)
        }
    }

    @inline(__always)
    private func appendOne(_ value: JSON, type: String?, position: ElementPosition?, into out: inout [FHIRPathNode]) {
        switch value {
        case .null:
            return
        case .object:
            if type == "Resource" || type == "DomainResource", let node = resourceNode(value, definitions: defs) {
                out.append(node)
                return
            }
        default:
            break
        }
        out.append(FHIRPathNode(value: value, type: type, position: position))
    }

    /// The type of an element defined by `contentReference` (`Questionnaire.item.item`).
    private func referencedType(_ definition: ElementDefinition) -> String? {
        guard let ref = definition.contentReference else { return nil }
        let structure = String(ref.prefix { $0 != "." })
        return defs.structures[structure]?.elements[ref]?.types.first?.code
    }

    private func extensions(of input: [FHIRPathNode], url: String) -> [FHIRPathNode] {
        var all: [FHIRPathNode] = []
        for item in input { navigate(item, "extension", into: &all) }
        return all.filter { $0.value["url"]?.stringValue == url }
    }

    // MARK: - Types

    /// Whether `type` is `target` or derives from it (`Age` -> `Quantity`, `Patient` -> `Resource`).
    func isType(_ type: String?, _ target: String) -> Bool {
        guard var t = type else { return false }
        for _ in 0..<16 {
            if t == target { return true }
            guard let base = defs.structures[t]?.base else { return false }
            t = base
        }
        return false
    }

    // MARK: - resolve()

    func resolve(_ item: FHIRPathNode) -> FHIRPathNode? {
        let reference: String
        switch item.value {
        case .object(let object):
            guard let r = object["reference"]?.stringValue else { return nil }
            reference = r
        case .string(let s):
            reference = s
        default:
            return nil
        }
        if reference.utf8.first == UInt8(ascii: "#") {
            let id = reference.dropFirst()
            if id.isEmpty { return root }
            guard let contained = root.value["contained"]?.arrayValue else { return nil }
            for resource in contained where resource["id"]?.stringValue.map({ $0 == id }) == true {
                return resourceNode(resource, definitions: defs)
            }
            return nil
        }
        var text = Substring(reference)
        if let bar = text.firstIndex(of: "|") { text = text[..<bar] }
        var parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count >= 4, parts[parts.count - 2] == "_history" { parts.removeLast(2) }
        guard parts.count >= 2 else { return nil }
        let type = String(parts[parts.count - 2])
        let id = parts[parts.count - 1]
        guard !id.isEmpty, !id.contains("?"), defs.isResourceType(type) else { return nil }
        let value = JSON.object(JSONObject([("resourceType", .string(type)), ("id", .string(String(id)))]))
        return FHIRPathNode(value: value, type: type, position: .root(type))
    }

    // MARK: - Values

    /// Singleton evaluation of a collection as a Boolean: nil for empty (or not a singleton).
    private func truth(_ items: [FHIRPathNode]) -> Bool? {
        guard items.count == 1 else { return nil }
        if case .bool(let b) = items[0].value { return b }
        return true
    }

    private func isTrue(_ items: [FHIRPathNode]) -> Bool {
        items.count == 1 && items[0].value == .bool(true)
    }

    /// Union semantics: keeps the first of equal items, in order.
    private func distinct(_ items: [FHIRPathNode]) -> [FHIRPathNode] {
        guard items.count > 1 else { return items }
        var out: [FHIRPathNode] = []
        out.reserveCapacity(items.count)
        if items.count <= 16 {
            for item in items where !out.contains(where: { fhirPathEqual($0.value, item.value) }) { out.append(item) }
            return out
        }
        var buckets: [Int: [Int]] = [:]
        for item in items {
            var hasher = Hasher()
            hashJSON(item.value, into: &hasher)
            let h = hasher.finalize()
            if let seen = buckets[h], seen.contains(where: { fhirPathEqual(out[$0].value, item.value) }) { continue }
            buckets[h, default: []].append(out.count)
            out.append(item)
        }
        return out
    }
}

/// FHIRPath equality of JSON values: numbers by value, objects regardless of member order.
func fhirPathEqual(_ a: JSON, _ b: JSON) -> Bool {
    switch (a, b) {
    case (.string(let x), .string(let y)): return x == y
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y || (Double(x).map { $0 == Double(y) } ?? false)
    case (.null, .null): return true
    case (.array(let x), .array(let y)):
        guard x.count == y.count else { return false }
        for i in x.indices where !fhirPathEqual(x[i], y[i]) { return false }
        return true
    case (.object(let x), .object(let y)):
        guard x.count == y.count else { return false }
        for e in x.entries {
            guard let other = y[e.key], fhirPathEqual(e.value, other) else { return false }
        }
        return true
    default:
        return false
    }
}

/// A hash consistent with `jsonEqual`.
private func hashJSON(_ value: JSON, into hasher: inout Hasher) {
    switch value {
    case .null: hasher.combine(0)
    case .bool(let b): hasher.combine(1); hasher.combine(b)
    case .number(let t): hasher.combine(2); hasher.combine(Double(t) ?? 0)
    case .string(let s): hasher.combine(3); hasher.combine(s)
    case .array(let items):
        hasher.combine(4)
        for item in items { hashJSON(item, into: &hasher) }
    case .object(let object):
        hasher.combine(5)
        var combined = 0
        for e in object.entries {
            var sub = Hasher()
            sub.combine(e.key)
            hashJSON(e.value, into: &sub)
            combined ^= sub.finalize()
        }
        hasher.combine(combined)
    }
}
