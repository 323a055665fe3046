import Foundation
import HTTPTypes
import Kernel

/// Values of one resource for every search parameter of its type, ready to insert into the
/// index tables in the same transaction as the resource.
package struct IndexEntries: Sendable, Equatable {
    package struct StringValue: Sendable, Hashable { package var param: String; package var normalized: String; package var exact: String }
    package struct Token: Sendable, Hashable { package var param: String; package var system: String; package var code: String }
    package struct DateValue: Sendable, Hashable { package var param: String; package var low: Int64; package var high: Int64 }
    package struct ReferenceValue: Sendable, Hashable { package var param: String; package var targetType: String; package var targetID: String; package var url: String }
    package struct NumberValue: Sendable, Hashable { package var param: String; package var value: Double }
    package struct QuantityValue: Sendable, Hashable { package var param: String; package var system: String; package var code: String; package var value: Double }
    package struct URIValue: Sendable, Hashable { package var param: String; package var value: String }

    package var strings: [StringValue] = []
    package var tokens: [Token] = []
    package var dates: [DateValue] = []
    package var references: [ReferenceValue] = []
    package var numbers: [NumberValue] = []
    package var quantities: [QuantityValue] = []
    package var uris: [URIValue] = []

    package init() {}

    package var count: Int { strings.count + tokens.count + dates.count + references.count + numbers.count + quantities.count + uris.count }
}

/// Extracts search values by evaluating each SearchParameter's FHIRPath expression.
package struct SearchIndexer: Sendable {
    package let registry: SearchParameterRegistry
    let evaluator: FHIRPathEvaluator
    let definitions: FHIRDefinitions

    package init(definitions: FHIRDefinitions, registry: SearchParameterRegistry) {
        self.definitions = definitions
        self.registry = registry
        self.evaluator = FHIRPathEvaluator(definitions: definitions)
    }

    package func entries(for resource: JSON, type: String) -> IndexEntries {
        var strings = Set<IndexEntries.StringValue>()
        var tokens = Set<IndexEntries.Token>()
        var dates = Set<IndexEntries.DateValue>()
        var refs = Set<IndexEntries.ReferenceValue>()
        var numbers = Set<IndexEntries.NumberValue>()
        var quantities = Set<IndexEntries.QuantityValue>()
        var uris = Set<IndexEntries.URIValue>()
        for param in registry.indexed(for: type) {
            guard let expression = param.expression else { continue }
            let code = param.code
            for node in evaluator.evaluate(expression, on: resource) {
                switch param.type {
                case .string:
                    for text in Self.strings(of: node) {
                        strings.insert(.init(param: code, normalized: SearchText.normalize(text), exact: SearchText.capped(text)))
                    }
                case .token:
                    for (system, value) in Self.tokens(of: node) { tokens.insert(.init(param: code, system: SearchText.capped(system), code: SearchText.capped(value))) }
                case .date:
                    if let r = Self.dateRange(of: node) { dates.insert(.init(param: code, low: r.low, high: r.high)) }
                case .reference:
                    if let r = reference(of: node) { refs.insert(.init(param: code, targetType: r.0, targetID: r.1, url: SearchText.capped(r.2))) }
                case .number:
                    if let v = node.value.doubleValue { numbers.insert(.init(param: code, value: v)) }
                case .quantity:
                    if let q = Self.quantity(of: node) { quantities.insert(.init(param: code, system: q.0, code: q.1, value: q.2)) }
                case .uri:
                    if let s = node.value.stringValue { uris.insert(.init(param: code, value: SearchText.capped(s))) }
                case .composite, .special:
                    break
                }
            }
        }
        var e = IndexEntries()
        e.strings = Array(strings); e.tokens = Array(tokens); e.dates = Array(dates); e.references = Array(refs)
        e.numbers = Array(numbers); e.quantities = Array(quantities); e.uris = Array(uris)
        return e
    }

    static func strings(of node: FHIRPathNode) -> [String] {
        switch node.value {
        case .string(let s): return [s]
        case .object(let o):
            switch node.type {
            case "HumanName":
                return ["text", "family"].compactMap { o[$0]?.stringValue } + ["given", "prefix", "suffix"].flatMap { o[$0]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            case "Address":
                return ["text", "city", "district", "state", "postalCode", "country"].compactMap { o[$0]?.stringValue } + (o["line"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            case "CodeableConcept":
                return [o["text"]?.stringValue].compactMap { $0 } + (o["coding"]?.arrayValue?.compactMap { $0["display"]?.stringValue } ?? [])
            case "Coding":
                return [o["display"]?.stringValue].compactMap { $0 }
            default:
                return o.entries.compactMap { $0.value.stringValue }
            }
        default: return []
        }
    }

    static func tokens(of node: FHIRPathNode) -> [(String, String)] {
        switch node.value {
        case .string(let s): return [("", s)]
        case .bool(let b): return [("", b ? "true" : "false")]
        case .number(let n): return [("", n)]
        case .object(let o):
            switch node.type {
            case "CodeableConcept":
                return (o["coding"]?.arrayValue ?? []).compactMap { c in c["code"]?.stringValue.map { (c["system"]?.stringValue ?? "", $0) } }
            case "Identifier":
                return o["value"]?.stringValue.map { [(o["system"]?.stringValue ?? "", $0)] } ?? []
            case "ContactPoint":
                return o["value"]?.stringValue.map { [(o["system"]?.stringValue ?? "", $0)] } ?? []
            default:  // Coding and look-alikes
                return o["code"]?.stringValue.map { [(o["system"]?.stringValue ?? "", $0)] } ?? []
            }
        default: return []
        }
    }

    static func dateRange(of node: FHIRPathNode) -> DateRange? {
        switch node.value {
        case .string(let s): return DateRange(s)
        case .object(let o):
            if node.type == "Period" || o["start"] != nil || o["end"] != nil {
                let low = o["start"]?.stringValue.flatMap(DateRange.init)?.low ?? DateRange.unboundedLow
                let high = o["end"]?.stringValue.flatMap(DateRange.init)?.high ?? DateRange.unboundedHigh
                if o["start"] == nil && o["end"] == nil { return nil }
                return DateRange(low: low, high: high)
            }
            if let events = o["event"]?.arrayValue {
                let ranges = events.compactMap { $0.stringValue.flatMap(DateRange.init) }
                guard let lo = ranges.map(\.low).min(), let hi = ranges.map(\.high).max() else { return nil }
                return DateRange(low: lo, high: hi)
            }
            return nil
        default: return nil
        }
    }

    func reference(of node: FHIRPathNode) -> (String, String, String)? {
        let text: String
        switch node.value {
        case .string(let s): text = s  // canonical / uri
        case .object(let o):
            guard let r = o["reference"]?.stringValue else { return nil }
            text = r
        default: return nil
        }
        if let (type, id) = ReferenceText.typeAndID(text, definitions: definitions) { return (type, id, text) }
        return ("", "", text)
    }

    static func quantity(of node: FHIRPathNode) -> (String, String, Double)? {
        guard case .object(let o) = node.value, let v = o["value"]?.doubleValue else { return nil }
        return (o["system"]?.stringValue ?? "", o["code"]?.stringValue ?? o["unit"]?.stringValue ?? "", v)
    }
}

/// Reading `Reference.reference` text.
package enum ReferenceText {
    /// `Patient/123`, `Patient/123/_history/2` or an absolute URL ending in `Patient/123` -> (Patient, 123).
    package static func typeAndID(_ text: String, definitions: FHIRDefinitions) -> (String, String)? {
        guard !text.hasPrefix("#"), !text.hasPrefix("urn:") else { return nil }
        var parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 4, parts[parts.count - 2] == "_history" { parts.removeLast(2) }
        guard parts.count >= 2 else { return nil }
        let type = parts[parts.count - 2]
        let id = parts[parts.count - 1]
        guard definitions.isResourceType(type), ResourceID.isValid(id) else { return nil }
        return (type, id)
    }
}

/// String search normalization: case- and accent-insensitive (`Müller` matches `muller`).
package enum SearchText {
    /// Index values keep their first 500 characters: btree index rows are bounded (about 2.7 kB
    /// on PostgreSQL) and searches are prefix searches, so a longer value still matches by prefix.
    package static let indexedLength = 500

    package static func normalize(_ text: String) -> String {
        let cut = capped(text)
        if cut.utf8.allSatisfy({ $0 < 0x80 }) { return cut.lowercased() }
        return cut.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
    }

    package static func capped(_ text: String) -> String {
        text.count > indexedLength ? String(text.prefix(indexedLength)) : text
    }
}
