/// Literals for JSON built in code: `["error": "invalid_grant", "expires_in": 3600]`. An object
/// literal keeps the order it is written in.
extension JSON: ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    package init(stringLiteral value: String) { self = .string(value) }
    package init(integerLiteral value: Int) { self = .int(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(arrayLiteral elements: JSON...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    package init(dictionaryLiteral elements: (String, JSON)...) { self.init(elements) }
}

/// Why a value could not become JSON (a non-finite number: JSON has no NaN or infinity).
package struct JSONEncodingError: Error, Sendable, CustomStringConvertible {
    package let path: String
    package var description: String { "A number that is not finite cannot be written as JSON (at \(path.isEmpty ? "the top" : path))" }
}

extension JSON {
    /// The JSON form of an `Encodable` value, as `JSONEncoder` would write it with sorted keys:
    /// properties in key order, `nil` optionals left out, integers and `Double`s as numbers
    /// (whole `Double`s without a fraction). Nothing encoded at all is `{}`.
    package init(encoding value: some Encodable) throws {
        let node = Node()
        try node.store(value, path: [])
        self = node.json
    }
}

/// One value under construction. A class, because containers handed out by the encoder keep
/// writing into the node after `container(keyedBy:)` has returned.
private final class Node {
    enum Content {
        case none
        case value(JSON)
        case object([String: Node])
        case array([Node])
    }
    var content: Content = .none

    var json: JSON {
        switch content {
        case .none: return .object(JSONObject())
        case .value(let v): return v
        case .array(let nodes): return .array(nodes.map(\.json))
        case .object(let members):
            return .object(JSONObject(members.keys.sorted().map { ($0, members[$0]!.json) }))
        }
    }

    /// Stores a primitive directly, anything else through its own `encode(to:)`.
    func store<T: Encodable>(_ value: T, path: [any CodingKey]) throws {
        switch value {
        case let v as String: content = .value(.string(v))
        case let v as Bool: content = .value(.bool(v))
        case let v as Double: content = .value(try Self.number(v, path))
        case let v as Float: content = .value(try Self.number(Double(v), path))
        case let v as any BinaryInteger: content = .value(.number(String(describing: v)))
        case let v as JSON: content = .value(v)
        default: try value.encode(to: NodeEncoder(node: self, codingPath: path))
        }
    }

    static func number(_ v: Double, _ path: [any CodingKey]) throws -> JSON {
        guard v.isFinite else { throw JSONEncodingError(path: path.map(\.stringValue).joined(separator: ".")) }
        return .double(v)
    }

    func child(_ key: String) -> Node {
        guard case .object(var members) = content else { preconditionFailure("not an object") }
        let node = members[key] ?? Node()
        members[key] = node
        content = .object(members)
        return node
    }

    func appended() -> Node {
        guard case .array(var nodes) = content else { preconditionFailure("not an array") }
        let node = Node()
        nodes.append(node)
        content = .array(nodes)
        return node
    }

    var count: Int { if case .array(let nodes) = content { nodes.count } else { 0 } }
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([:]) }
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleNodeContainer(node: node, codingPath: codingPath) }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { String(intValue ?? 0) }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.child(key.stringValue).content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(value, key) }

    private func put<T: Encodable>(_ value: T, _ key: Key) throws { try node.child(key.stringValue).store(value, path: codingPath + [key]) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.child("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]) }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws { node.appended().content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { try put(value) }
    mutating func encode(_ value: Bool) throws { try put(value) }
    mutating func encode(_ value: String) throws { try put(value) }
    mutating func encode(_ value: Double) throws { try put(value) }
    mutating func encode(_ value: Float) throws { try put(value) }
    mutating func encode(_ value: Int) throws { try put(value) }
    mutating func encode(_ value: Int8) throws { try put(value) }
    mutating func encode(_ value: Int16) throws { try put(value) }
    mutating func encode(_ value: Int32) throws { try put(value) }
    mutating func encode(_ value: Int64) throws { try put(value) }
    mutating func encode(_ value: UInt) throws { try put(value) }
    mutating func encode(_ value: UInt8) throws { try put(value) }
    mutating func encode(_ value: UInt16) throws { try put(value) }
    mutating func encode(_ value: UInt32) throws { try put(value) }
    mutating func encode(_ value: UInt64) throws { try put(value) }

    private func put<T: Encodable>(_ value: T) throws {
        let path = codingPath + [IndexKey(count)]
        try node.appended().store(value, path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [IndexKey(count)]
        return NodeEncoder(node: node.appended(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [IndexKey(count)]
        return NodeEncoder(node: node.appended(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = codingPath + [IndexKey(count)]
        return NodeEncoder(node: node.appended(), codingPath: path)
    }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Bool) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: String) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Double) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Float) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Int) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Int8) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Int16) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Int32) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: Int64) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: UInt) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: UInt8) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: UInt16) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: UInt32) throws { try node.store(value, path: codingPath) }
    mutating func encode(_ value: UInt64) throws { try node.store(value, path: codingPath) }
}
