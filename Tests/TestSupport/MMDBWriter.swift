import Foundation

/// Test-only builder of small, valid MaxMind DB (`.mmdb`, format 2.0) files in memory.
///
/// Networks are stored in a binary trie; a more specific network always wins over a
/// broader one that contains it, whatever the insertion order. In an IPv6 database, IPv4
/// networks live under `::/96` (`::a.b.c.d`), which is where readers look IPv4 addresses up.
/// Empty branches hold `node_count` ("not found").
package struct MMDBWriter {
    /// A data-section value. Maps keep their key order so the output is deterministic.
    package indirect enum Value {
        case string(String)
        case double(Double)
        case bytes([UInt8])
        case uint16(UInt16)
        case uint32(UInt32)
        case int32(Int32)
        case uint64(UInt64)
        case uint128(UInt128)
        case map([(String, Value)])
        case array([Value])
        case bool(Bool)
        case float(Float)
    }

    package let ipVersion: Int
    package let recordSize: Int
    package var databaseType = "HealthHub-Test-Country"
    package var buildEpoch: UInt64 = 1_700_000_000

    private var networks: [(address: [UInt8], prefix: Int, value: Value)] = []

    package init(ipVersion: Int = 6, recordSize: Int = 24) {
        precondition(ipVersion == 4 || ipVersion == 6, "ipVersion must be 4 or 6")
        precondition([24, 28, 32].contains(recordSize), "recordSize must be 24, 28 or 32")
        self.ipVersion = ipVersion
        self.recordSize = recordSize
    }

    /// Maps `network` (CIDR such as `81.2.69.0/24` or `2001:db8::/32`) to
    /// `{"country": {"iso_code": country, "names": {"en": name}}}` (names only when `name` is given).
    package mutating func insert(network: String, country: String, name: String? = nil) {
        var countryMap: [(String, Value)] = [("iso_code", .string(country))]
        if let name { countryMap.append(("names", .map([("en", .string(name))]))) }
        insert(network: network, value: .map([("country", .map(countryMap))]))
    }

    /// Maps `network` to an arbitrary record.
    package mutating func insert(network: String, value: Value) {
        let (address, prefix) = Self.parseCIDR(network, ipVersion: ipVersion)
        networks.append((address, prefix, value))
    }

    /// The complete file: search tree, 16-byte separator, data section, marker and metadata.
    package func build() -> [UInt8] {
        var data: [UInt8] = []
        var offsets: [[UInt8]: Int] = [:]
        let leaves = networks.map { network -> Int in
            let encoded = Self.encode(network.value)
            if let offset = offsets[encoded] { return offset }
            offsets[encoded] = data.count
            data += encoded
            return data.count - encoded.count
        }
        let order = networks.indices.sorted { (networks[$0].prefix, $0) < (networks[$1].prefix, $1) }
        var trie = Trie()
        for index in order {
            trie.insert(address: networks[index].address, prefix: networks[index].prefix, dataOffset: leaves[index])
        }
        let nodeCount = trie.nodes.count
        let records = trie.nodes.map { node in
            (node.left.value(nodeCount: nodeCount), node.right.value(nodeCount: nodeCount))
        }
        return Self.assemble(
            records: records, recordSize: recordSize, dataSection: data,
            metadata: metadata(nodeCount: nodeCount)
        )
    }

    private func metadata(nodeCount: Int) -> Value {
        .map([
            ("binary_format_major_version", .uint16(2)),
            ("binary_format_minor_version", .uint16(0)),
            ("build_epoch", .uint64(buildEpoch)),
            ("database_type", .string(databaseType)),
            ("description", .map([("en", .string("HealthHub test database"))])),
            ("ip_version", .uint16(UInt16(ipVersion))),
            ("languages", .array([.string("en")])),
            ("node_count", .uint32(UInt32(nodeCount))),
            ("record_size", .uint16(UInt16(recordSize))),
        ])
    }

    // MARK: - File layout

    /// Lays out a file from raw `(left, right)` record values; useful for crafting malformed files.
    package static func assemble(records: [(Int, Int)], recordSize: Int, dataSection: [UInt8], metadata: Value) -> [UInt8] {
        var out: [UInt8] = []
        for (left, right) in records {
            out += encodeNode(left: left, right: right, recordSize: recordSize)
        }
        out += [UInt8](repeating: 0, count: 16)
        out += dataSection
        out += metadataMarker
        out += encode(metadata)
        return out
    }

    package static let metadataMarker: [UInt8] = [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)

    package static func encodeNode(left: Int, right: Int, recordSize: Int) -> [UInt8] {
        precondition(
            left >= 0 && left < 1 << recordSize && right >= 0 && right < 1 << recordSize,
            "record value does not fit in \(recordSize) bits")
        switch recordSize {
        case 24:
            return bigEndian(left, count: 3) + bigEndian(right, count: 3)
        case 28:
            let middle = UInt8((left >> 24) << 4 | (right >> 24))
            return bigEndian(left & 0xFF_FFFF, count: 3) + [middle] + bigEndian(right & 0xFF_FFFF, count: 3)
        default:
            return bigEndian(left, count: 4) + bigEndian(right, count: 4)
        }
    }

    // MARK: - Data section encoding

    package static func encode(_ value: Value) -> [UInt8] {
        switch value {
        case .string(let text):
            let utf8 = Array(text.utf8)
            return header(type: 2, size: utf8.count) + utf8
        case .double(let number):
            return header(type: 3, size: 8) + bigEndian(Int(truncatingIfNeeded: number.bitPattern), count: 8)
        case .bytes(let raw):
            return header(type: 4, size: raw.count) + raw
        case .uint16(let number): return unsigned(type: 5, UInt128(number))
        case .uint32(let number): return unsigned(type: 6, UInt128(number))
        case .int32(let number):
            return header(type: 8, size: 4) + bigEndian(Int(UInt32(bitPattern: number)), count: 4)
        case .uint64(let number): return unsigned(type: 9, UInt128(number))
        case .uint128(let number): return unsigned(type: 10, number)
        case .map(let entries):
            return entries.reduce(header(type: 7, size: entries.count)) { $0 + encode(.string($1.0)) + encode($1.1) }
        case .array(let items):
            return items.reduce(header(type: 11, size: items.count)) { $0 + encode($1) }
        case .bool(let flag):
            return header(type: 14, size: flag ? 1 : 0)
        case .float(let number):
            return header(type: 15, size: 4) + bigEndian(Int(number.bitPattern), count: 4)
        }
    }

    /// A pointer to `offset` in the data section, using the smallest of the four pointer sizes.
    package static func pointer(to offset: Int) -> [UInt8] {
        switch offset {
        case ..<2048:
            return [0x20 | UInt8(offset >> 8), UInt8(offset & 0xFF)]
        case ..<526_336:
            let value = offset - 2048
            return [0x28 | UInt8(value >> 16)] + bigEndian(value & 0xFFFF, count: 2)
        case ..<134_744_064:
            let value = offset - 526_336
            return [0x30 | UInt8(value >> 24)] + bigEndian(value & 0xFF_FFFF, count: 3)
        default:
            return [0x38] + bigEndian(offset, count: 4)
        }
    }

    /// Control byte(s) for `type` and payload `size`, with extended type and size bytes.
    package static func header(type: Int, size: Int) -> [UInt8] {
        let (sizeBits, sizeBytes): (Int, [UInt8]) =
            switch size {
            case ..<29: (size, [])
            case ..<285: (29, [UInt8(size - 29)])
            case ..<65_821: (30, bigEndian(size - 285, count: 2))
            default: (31, bigEndian(size - 65_821, count: 3))
            }
        if type <= 7 {
            return [UInt8(type << 5 | sizeBits)] + sizeBytes
        }
        return [UInt8(sizeBits), UInt8(type - 7)] + sizeBytes
    }

    private static func unsigned(type: Int, _ number: UInt128) -> [UInt8] {
        var payload: [UInt8] = []
        var rest = number
        while rest != 0 {
            payload.insert(UInt8(truncatingIfNeeded: rest), at: 0)
            rest >>= 8
        }
        return header(type: type, size: payload.count) + payload
    }

    package static func bigEndian(_ value: Int, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - $0))) }
    }

    // MARK: - CIDR parsing

    /// Address bytes (16 for an IPv6 database, IPv4 placed under `::/96`) and prefix length.
    package static func parseCIDR(_ text: String, ipVersion: Int) -> ([UInt8], Int) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first else { preconditionFailure("empty network") }
        let isV6 = first.contains(":")
        guard var address = isV6 ? parseIPv6(first) : parseIPv4(first) else {
            preconditionFailure("invalid network address \(text)")
        }
        var prefix = parts.count == 2 ? Int(parts[1]) ?? -1 : address.count * 8
        precondition((1...(address.count * 8)).contains(prefix), "invalid prefix in \(text)")
        if ipVersion == 4 {
            precondition(!isV6, "IPv6 network \(text) in an IPv4 database")
        } else if !isV6 {
            address = [UInt8](repeating: 0, count: 12) + address
            prefix += 96
        }
        return (address, prefix)
    }

    private static func parseIPv4(_ text: String) -> [UInt8]? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        return octets.count == 4 ? octets : nil
    }

    private static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            let values = part.split(separator: ":", omittingEmptySubsequences: false).map { UInt16($0, radix: 16) }
            return values.contains(nil) ? nil : values.compactMap { $0 }
        }
        guard let head = groups(halves[0]), let tail = halves.count == 2 ? groups(halves[1]) : [] else { return nil }
        let missing = 8 - head.count - tail.count
        guard halves.count == 2 ? missing >= 1 : missing == 0 else { return nil }
        let all = head + [UInt16](repeating: 0, count: max(missing, 0)) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

// MARK: - Trie

private struct Trie {
    enum Record {
        case empty
        case node(Int)
        case data(Int)

        func value(nodeCount: Int) -> Int {
            switch self {
            case .empty: nodeCount
            case .node(let index): index
            case .data(let offset): nodeCount + 16 + offset
            }
        }
    }

    struct Node {
        var left = Record.empty
        var right = Record.empty

        subscript(bit: Int) -> Record {
            get { bit == 0 ? left : right }
            set { if bit == 0 { left = newValue } else { right = newValue } }
        }
    }

    var nodes = [Node()]

    /// Networks must arrive broadest first: a record holding data is split into a node whose
    /// two records inherit that data, so the narrower network overrides only its own range.
    mutating func insert(address: [UInt8], prefix: Int, dataOffset: Int) {
        var current = 0
        for depth in 0..<prefix {
            let bit = Int(address[depth / 8] >> (7 - UInt8(depth % 8))) & 1
            if depth == prefix - 1 {
                nodes[current][bit] = .data(dataOffset)
                return
            }
            switch nodes[current][bit] {
            case .node(let next):
                current = next
            case .empty:
                current = appendNode(Node(), under: current, bit: bit)
            case .data(let inherited):
                current = appendNode(Node(left: .data(inherited), right: .data(inherited)), under: current, bit: bit)
            }
        }
    }

    private mutating func appendNode(_ node: Node, under parent: Int, bit: Int) -> Int {
        nodes.append(node)
        nodes[parent][bit] = .node(nodes.count - 1)
        return nodes.count - 1
    }
}
