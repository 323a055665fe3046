import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a MaxMind DB file could not be opened or a record could not be read.
package enum MMDBError: Error, Equatable, Sendable {
    /// The file could not be read from disk.
    case unreadable(String)
    /// The `\xAB\xCD\xEFMaxMind.com` metadata marker is not in the last 128 KiB of the file.
    case missingMetadataMarker
    /// The metadata map is missing a required key or has a value of the wrong type.
    case invalidMetadata(String)
    /// `binary_format_major_version` is not 2.
    case unsupportedFormatVersion(Int)
    /// `record_size` is not 24, 28 or 32.
    case unsupportedRecordSize(Int)
    /// `ip_version` is not 4 or 6.
    case unsupportedIPVersion(Int)
    /// The search tree or data section is malformed (out of bounds, bad type, pointer cycle, ...).
    case corrupt(String)
    /// The text is not an IPv4 or IPv6 address, or is IPv6 and the database is IPv4-only.
    case invalidAddress(String)
}

/// A value decoded from the data section of a MaxMind DB file.
package indirect enum MMDBValue: Sendable, Equatable {
    case string(String)
    case double(Double)
    case bytes([UInt8])
    case uint16(UInt16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case uint128(UInt128)
    case map([String: MMDBValue])
    case array([MMDBValue])
    case bool(Bool)
    case float(Float)

    /// The value stored under `key` when this is a map, otherwise nil.
    package subscript(key: String) -> MMDBValue? {
        guard case .map(let entries) = self else { return nil }
        return entries[key]
    }

    /// The text when this is a string, otherwise nil.
    package var string: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    /// The number when this is a non-negative integer of any width that fits in 64 bits, otherwise nil.
    package var uint64Value: UInt64? {
        switch self {
        case .uint16(let v): UInt64(v)
        case .uint32(let v): UInt64(v)
        case .uint64(let v): v
        case .uint128(let v): UInt64(exactly: v)
        case .int32(let v): UInt64(exactly: v)
        default: nil
        }
    }
}

/// The metadata map stored at the end of a MaxMind DB file.
package struct MMDBMetadata: Sendable, Equatable {
    package let nodeCount: Int
    package let recordSize: Int
    package let ipVersion: Int
    package let databaseType: String
    package let languages: [String]
    package let binaryFormatMajorVersion: Int
    package let binaryFormatMinorVersion: Int
    package let buildEpoch: UInt64
    package let description: [String: String]
}

/// Read-only MaxMind DB (`.mmdb`, format 2.0) reader used by the geo allow-list.
///
/// We carry our own reader instead of a dependency because the gateway needs nothing but
/// "which country is this IP in": a small, Foundation-only decoder of the search tree and data
/// section is easier to audit than a C library or a third-party package. Every read is
/// bounds-checked and decoding is limited in depth and work, so a malformed or hostile file
/// produces ``MMDBError`` (or a nil lookup) rather than a crash or a hang.
///
/// The instance is immutable and safe to share between tasks.
package final class MMDBReader: Sendable {
    /// The database's metadata (node count, record size, IP version, type, ...).
    package let metadata: MMDBMetadata

    private let bytes: [UInt8]
    private let nodeCount: Int
    private let nodeByteSize: Int
    /// Absolute offset of the first byte of the data section.
    private let dataStart: Int
    /// Absolute offset one past the last byte of the data section (the metadata marker).
    private let dataEnd: Int
    /// Record reached after following 96 zero bits from the root (IPv6 databases), or the root.
    private let ipv4Start: Int

    static let metadataMarker: [UInt8] = [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)
    static let maxMetadataSize = 128 * 1024

    /// Opens the database at `path`, reading the whole file into memory.
    package convenience init(path: String) throws(MMDBError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable("\(path): \(error.localizedDescription)")
        }
        try self.init(bytes: [UInt8](data))
    }

    /// Parses a database held in memory; throws if the metadata or layout is invalid.
    package init(bytes: [UInt8]) throws(MMDBError) {
        guard let markerStart = Self.findMetadataMarker(in: bytes) else {
            throw .missingMetadataMarker
        }
        let metadataStart = markerStart + Self.metadataMarker.count
        var decoder = MMDBDecoder(bytes: bytes, start: metadataStart, end: bytes.count)
        let metadata: MMDBMetadata
        do {
            metadata = try Self.parseMetadata(decoder.decode(at: 0))
        } catch MMDBError.corrupt(let reason) {
            throw .invalidMetadata(reason)
        }
        let nodeByteSize = metadata.recordSize * 2 / 8
        let treeSize = metadata.nodeCount * nodeByteSize
        guard treeSize + 16 <= markerStart else {
            throw .corrupt("search tree of \(metadata.nodeCount) nodes does not fit in \(markerStart) bytes")
        }
        self.metadata = metadata
        self.bytes = bytes
        self.nodeCount = metadata.nodeCount
        self.nodeByteSize = nodeByteSize
        self.dataStart = treeSize + 16
        self.dataEnd = markerStart
        self.ipv4Start = Self.findIPv4Start(
            bytes: bytes, nodeCount: metadata.nodeCount, recordSize: metadata.recordSize, ipVersion: metadata.ipVersion
        )
    }

    /// The record for `address` (IPv4 dotted quad or IPv6 text), or nil when the address is
    /// invalid, not in the database, or its record is corrupt.
    package func lookup(_ address: String) -> MMDBValue? {
        try? find(address)
    }

    /// ISO 3166 country code for `address`: `country.iso_code`, falling back to
    /// `registered_country.iso_code` (GeoLite2-Country / GeoIP2-Country layout).
    package func country(_ address: String) -> String? {
        guard let record = lookup(address) else { return nil }
        return record["country"]?["iso_code"]?.string ?? record["registered_country"]?["iso_code"]?.string
    }

    /// Like ``lookup(_:)`` but distinguishes "not found" (nil) from an invalid address or a
    /// corrupt record (thrown).
    package func find(_ address: String) throws(MMDBError) -> MMDBValue? {
        guard let ip = IPAddressBytes.parse(address) else { throw .invalidAddress(address) }
        guard let record = try searchTree(for: ip, address: address) else { return nil }
        return try resolveData(record: record)
    }

    // MARK: - Search tree

    private func searchTree(for ip: [UInt8], address: String) throws(MMDBError) -> Int? {
        var node: Int
        if ip.count == 4 {
            node = ipv4Start
        } else if metadata.ipVersion == 6 {
            node = 0
        } else {
            throw .invalidAddress(address)
        }
        for bitIndex in 0..<(ip.count * 8) where node < nodeCount {
            let bit = Int(ip[bitIndex >> 3] >> (7 - UInt8(bitIndex & 7))) & 1
            node = Self.readRecord(bytes: bytes, node: node, side: bit, recordSize: metadata.recordSize)
        }
        if node == nodeCount { return nil }
        if node < nodeCount { throw .corrupt("search tree deeper than the address") }
        return node
    }

    /// Reads the left (`side == 0`) or right record of `node`; the caller guarantees
    /// `node < nodeCount`, and init checked the whole tree is inside `bytes`.
    private static func readRecord(bytes: [UInt8], node: Int, side: Int, recordSize: Int) -> Int {
        let base = node * recordSize * 2 / 8
        func be(_ offset: Int, _ count: Int) -> Int {
            var value = 0
            for i in 0..<count { value = value << 8 | Int(bytes[base + offset + i]) }
            return value
        }
        switch (recordSize, side) {
        case (24, 0): return be(0, 3)
        case (24, _): return be(3, 3)
        case (28, 0): return Int(bytes[base + 3] & 0xF0) << 20 | be(0, 3)
        case (28, _): return Int(bytes[base + 3] & 0x0F) << 24 | be(4, 3)
        case (_, 0): return be(0, 4)
        default: return be(4, 4)
        }
    }

    private static func findIPv4Start(bytes: [UInt8], nodeCount: Int, recordSize: Int, ipVersion: Int) -> Int {
        guard ipVersion == 6 else { return 0 }
        var node = 0
        for _ in 0..<96 where node < nodeCount {
            node = readRecord(bytes: bytes, node: node, side: 0, recordSize: recordSize)
        }
        return node
    }

    private func resolveData(record: Int) throws(MMDBError) -> MMDBValue {
        let offset = record - nodeCount - 16
        guard offset >= 0, offset < dataEnd - dataStart else {
            throw .corrupt("record \(record) points outside the data section")
        }
        var decoder = MMDBDecoder(bytes: bytes, start: dataStart, end: dataEnd)
        return try decoder.decode(at: offset)
    }

    // MARK: - Metadata

    private static func findMetadataMarker(in bytes: [UInt8]) -> Int? {
        let marker = metadataMarker
        guard bytes.count >= marker.count else { return nil }
        let lowest = max(0, bytes.count - maxMetadataSize)
        var start = bytes.count - marker.count
        while start >= lowest {
            if bytes[start] == marker[0], bytes[start..<(start + marker.count)].elementsEqual(marker) {
                return start
            }
            start -= 1
        }
        return nil
    }

    private static func parseMetadata(_ value: MMDBValue) throws(MMDBError) -> MMDBMetadata {
        guard case .map = value else { throw .invalidMetadata("metadata is not a map") }
        func integer(_ key: String, max limit: UInt64) throws(MMDBError) -> Int {
            guard let field = value[key] else { throw .invalidMetadata("missing \(key)") }
            guard let number = field.uint64Value, number <= limit else {
                throw .invalidMetadata("\(key) is not an unsigned integer up to \(limit)")
            }
            return Int(number)
        }
        let major = try integer("binary_format_major_version", max: UInt64(UInt16.max))
        guard major == 2 else { throw .unsupportedFormatVersion(major) }
        let recordSize = try integer("record_size", max: UInt64(UInt16.max))
        guard [24, 28, 32].contains(recordSize) else { throw .unsupportedRecordSize(recordSize) }
        let ipVersion = try integer("ip_version", max: UInt64(UInt16.max))
        guard ipVersion == 4 || ipVersion == 6 else { throw .unsupportedIPVersion(ipVersion) }
        let nodeCount = try integer("node_count", max: UInt64(UInt32.max))
        return MMDBMetadata(
            nodeCount: nodeCount,
            recordSize: recordSize,
            ipVersion: ipVersion,
            databaseType: value["database_type"]?.string ?? "",
            languages: stringArray(value["languages"]),
            binaryFormatMajorVersion: major,
            binaryFormatMinorVersion: Int(value["binary_format_minor_version"]?.uint64Value.map { min($0, 0xFFFF) } ?? 0),
            buildEpoch: value["build_epoch"]?.uint64Value ?? 0,
            description: stringMap(value["description"])
        )
    }

    private static func stringArray(_ value: MMDBValue?) -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap(\.string)
    }

    private static func stringMap(_ value: MMDBValue?) -> [String: String] {
        guard case .map(let entries)? = value else { return [:] }
        return entries.compactMapValues(\.string)
    }
}

// MARK: - Data section decoder

/// Decodes data-section values between `start` and `end` of `bytes`; offsets passed in and
/// pointer targets are relative to `start`.
private struct MMDBDecoder {
    let bytes: [UInt8]
    let start: Int
    let end: Int
    /// Values left to decode in this call; stops pointer fan-out ("billion laughs") blow-ups.
    var budget = 1 << 16
    /// String and bytes payload left to copy in this call; stops many pointers to one large string.
    var payloadBudget = 1 << 21

    static let maxDepth = 32

    init(bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.start = start
        self.end = end
    }

    mutating func decode(at offset: Int) throws(MMDBError) -> MMDBValue {
        var position = start + offset
        return try decodeValue(at: &position, depth: 0)
    }

    private mutating func decodeValue(at position: inout Int, depth: Int) throws(MMDBError) -> MMDBValue {
        guard depth < Self.maxDepth else { throw .corrupt("data nested deeper than \(Self.maxDepth)") }
        budget -= 1
        guard budget >= 0 else { throw .corrupt("record too large to decode") }
        let control = try readByte(&position)
        var type = Int(control >> 5)
        if type == 1 {
            var target = try pointerTarget(control: control, position: &position)
            return try decodePointee(at: &target, depth: depth)
        }
        if type == 0 {
            type = Int(try readByte(&position)) + 7
            guard type >= 8 else { throw .corrupt("extended type \(type) is not valid") }
        }
        let size = try readSize(control: control, position: &position)
        return try decodePayload(type: type, size: size, position: &position, depth: depth)
    }

    /// Decodes the value a pointer targets; a pointer to a pointer is invalid per the spec.
    private mutating func decodePointee(at target: inout Int, depth: Int) throws(MMDBError) -> MMDBValue {
        let control = try peekByte(target)
        guard control >> 5 != 1 else { throw .corrupt("pointer to a pointer at \(target - start)") }
        return try decodeValue(at: &target, depth: depth + 1)
    }

    private func pointerTarget(control: UInt8, position: inout Int) throws(MMDBError) -> Int {
        let sizeBits = Int(control >> 3) & 0x3
        let low = Int(control & 0x7)
        let extra = try readBigEndian(count: sizeBits + 1, position: &position)
        let offset: Int
        switch sizeBits {
        case 0: offset = low << 8 | extra
        case 1: offset = (low << 16 | extra) + 2048
        case 2: offset = (low << 24 | extra) + 526_336
        default: offset = extra
        }
        guard offset < end - start else { throw .corrupt("pointer \(offset) outside the section") }
        return start + offset
    }

    private func readSize(control: UInt8, position: inout Int) throws(MMDBError) -> Int {
        let size = Int(control & 0x1F)
        switch size {
        case 29: return 29 + (try readBigEndian(count: 1, position: &position))
        case 30: return 285 + (try readBigEndian(count: 2, position: &position))
        case 31: return 65_821 + (try readBigEndian(count: 3, position: &position))
        default: return size
        }
    }

    private mutating func decodePayload(type: Int, size: Int, position: inout Int, depth: Int) throws(MMDBError) -> MMDBValue {
        switch type {
        case 2: return .string(String(decoding: try readPayload(size, &position), as: UTF8.self))
        case 3:
            guard size == 8 else { throw .corrupt("double of size \(size)") }
            return .double(Double(bitPattern: try readUnsigned(8, max: 8, &position)))
        case 4: return .bytes(Array(try readPayload(size, &position)))
        case 5: return .uint16(UInt16(try readUnsigned(size, max: 2, &position)))
        case 6: return .uint32(UInt32(try readUnsigned(size, max: 4, &position)))
        case 7: return try decodeMap(count: size, position: &position, depth: depth)
        case 8: return .int32(Int32(bitPattern: UInt32(try readUnsigned(size, max: 4, &position))))
        case 9: return .uint64(UInt64(try readUnsigned(size, max: 8, &position)))
        case 10: return .uint128(try readUInt128(size, &position))
        case 11: return try decodeArray(count: size, position: &position, depth: depth)
        case 14:
            guard size <= 1 else { throw .corrupt("boolean of size \(size)") }
            return .bool(size == 1)
        case 15:
            guard size == 4 else { throw .corrupt("float of size \(size)") }
            return .float(Float(bitPattern: UInt32(try readUnsigned(4, max: 4, &position))))
        default: throw .corrupt("unexpected data type \(type)")
        }
    }

    private mutating func decodeMap(count: Int, position: inout Int, depth: Int) throws(MMDBError) -> MMDBValue {
        guard count * 2 <= end - position else { throw .corrupt("map of \(count) entries exceeds the section") }
        var entries: [String: MMDBValue] = Dictionary(minimumCapacity: count)
        for _ in 0..<count {
            guard case .string(let key) = try decodeValue(at: &position, depth: depth + 1) else {
                throw .corrupt("map key is not a string")
            }
            entries[key] = try decodeValue(at: &position, depth: depth + 1)
        }
        return .map(entries)
    }

    private mutating func decodeArray(count: Int, position: inout Int, depth: Int) throws(MMDBError) -> MMDBValue {
        guard count <= end - position else { throw .corrupt("array of \(count) items exceeds the section") }
        var items: [MMDBValue] = []
        items.reserveCapacity(count)
        for _ in 0..<count {
            items.append(try decodeValue(at: &position, depth: depth + 1))
        }
        return .array(items)
    }

    // MARK: Byte reading (every read is bounds-checked against `end`)

    private func peekByte(_ position: Int) throws(MMDBError) -> UInt8 {
        guard position >= start, position < end else { throw .corrupt("read past the end of the section") }
        return bytes[position]
    }

    private func readByte(_ position: inout Int) throws(MMDBError) -> UInt8 {
        let byte = try peekByte(position)
        position += 1
        return byte
    }

    private func readBytes(_ count: Int, _ position: inout Int) throws(MMDBError) -> ArraySlice<UInt8> {
        guard count >= 0, position >= start, count <= end - position else {
            throw .corrupt("value of \(count) bytes runs past the end of the section")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    private mutating func readPayload(_ count: Int, _ position: inout Int) throws(MMDBError) -> ArraySlice<UInt8> {
        payloadBudget -= count
        guard payloadBudget >= 0 else { throw .corrupt("record strings too large to decode") }
        return try readBytes(count, &position)
    }

    private func readUnsigned(_ size: Int, max: Int, _ position: inout Int) throws(MMDBError) -> UInt64 {
        guard size <= max else { throw .corrupt("integer of \(size) bytes wider than \(max)") }
        var value: UInt64 = 0
        for byte in try readBytes(size, &position) { value = value << 8 | UInt64(byte) }
        return value
    }

    private func readUInt128(_ size: Int, _ position: inout Int) throws(MMDBError) -> UInt128 {
        guard size <= 16 else { throw .corrupt("uint128 of \(size) bytes") }
        var value: UInt128 = 0
        for byte in try readBytes(size, &position) { value = value << 8 | UInt128(byte) }
        return value
    }

    /// Reads `count` (at most 4) big-endian bytes as a non-negative integer.
    private func readBigEndian(count: Int, position: inout Int) throws(MMDBError) -> Int {
        Int(try readUnsigned(count, max: 4, &position))
    }
}

// MARK: - Address parsing

private enum IPAddressBytes {
    /// 4 bytes for IPv4 (and IPv4-mapped IPv6, `::ffff:a.b.c.d`), 16 for other IPv6, nil if invalid.
    static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 64, !text.utf8.contains(0) else { return nil }
        if text.contains(":") {
            guard let v6 = convert(text, family: AF_INET6, size: 16) else { return nil }
            let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
            return v6.starts(with: mappedPrefix) ? Array(v6[12...]) : v6
        }
        return convert(text, family: AF_INET, size: 4)
    }

    private static func convert(_ text: String, family: Int32, size: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: size)
        let status = buffer.withUnsafeMutableBytes { raw in
            text.withCString { inet_pton(family, $0, raw.baseAddress) }
        }
        return status == 1 ? buffer : nil
    }
}
