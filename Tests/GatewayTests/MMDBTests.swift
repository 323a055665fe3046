import Foundation
import Gateway
import TestSupport
import Testing

/// Databases built by `MMDBWriter` and read back by `MMDBReader`, plus hand-crafted malformed files.
@Suite struct MMDBTests {
    /// GB, IE and US networks in both address families.
    static func countryDatabase(ipVersion: Int = 6, recordSize: Int) -> [UInt8] {
        var writer = MMDBWriter(ipVersion: ipVersion, recordSize: recordSize)
        writer.insert(network: "81.2.69.0/24", country: "GB", name: "United Kingdom")
        writer.insert(network: "193.1.0.0/16", country: "IE", name: "Ireland")
        writer.insert(network: "216.160.83.0/24", country: "US")
        if ipVersion == 6 {
            writer.insert(network: "2001:db8:100::/40", country: "GB")
            writer.insert(network: "2001:db8:200::/40", country: "IE")
            writer.insert(network: "2600::/12", country: "US", name: "United States")
        }
        return writer.build()
    }

    /// Metadata map for hand-assembled files; `drop` removes one key.
    static func metadata(
        nodeCount: Int = 1, recordSize: Int = 24, ipVersion: Int = 4, major: Int = 2, drop: String? = nil
    ) -> MMDBWriter.Value {
        let entries: [(String, MMDBWriter.Value)] = [
            ("binary_format_major_version", .uint16(UInt16(major))),
            ("binary_format_minor_version", .uint16(0)),
            ("build_epoch", .uint64(1)),
            ("database_type", .string("Crafted")),
            ("ip_version", .uint16(UInt16(ipVersion))),
            ("node_count", .uint32(UInt32(nodeCount))),
            ("record_size", .uint16(UInt16(recordSize))),
        ]
        return .map(entries.filter { $0.0 != drop })
    }

    /// An IPv4 database of one node: addresses below 128.0.0.0 resolve to data-section offset
    /// `dataOffset`, the rest are not found.
    static func crafted(dataSection: [UInt8], dataOffset: Int = 0) -> [UInt8] {
        MMDBWriter.assemble(
            records: [(1 + 16 + dataOffset, 1)], recordSize: 24, dataSection: dataSection, metadata: metadata()
        )
    }

    @Test(arguments: [24, 28, 32])
    func ipv6DatabaseLookups(recordSize: Int) throws {
        let reader = try MMDBReader(bytes: Self.countryDatabase(recordSize: recordSize))
        #expect(reader.metadata.recordSize == recordSize)
        #expect(reader.metadata.ipVersion == 6)
        #expect(reader.country("81.2.69.142") == "GB")
        #expect(reader.country("81.2.69.0") == "GB")
        #expect(reader.country("81.2.69.255") == "GB")
        #expect(reader.country("193.1.200.7") == "IE")
        #expect(reader.country("216.160.83.56") == "US")
        #expect(reader.country("2001:db8:100::1") == "GB")
        #expect(reader.country("2001:db8:1ff:ffff::9") == "GB")
        #expect(reader.country("2001:db8:200:abcd::1") == "IE")
        #expect(reader.country("2600:1f18::25") == "US")
        #expect(reader.country("260f:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == "US")
    }

    @Test(arguments: [24, 28, 32])
    func ipv4DatabaseLookups(recordSize: Int) throws {
        let reader = try MMDBReader(bytes: Self.countryDatabase(ipVersion: 4, recordSize: recordSize))
        #expect(reader.metadata.ipVersion == 4)
        #expect(reader.country("81.2.69.1") == "GB")
        #expect(reader.country("193.1.0.1") == "IE")
        #expect(reader.country("216.160.83.200") == "US")
        #expect(reader.country("::ffff:81.2.69.1") == "GB")
        // IPv6 addresses cannot be looked up in an IPv4 database
        #expect(reader.country("2001:db8:100::1") == nil)
        #expect(throws: MMDBError.invalidAddress("2001:db8:100::1")) { try reader.find("2001:db8:100::1") }
    }

    @Test(arguments: [24, 28, 32])
    func addressesOutsideEveryNetworkAreNotFound(recordSize: Int) throws {
        let reader = try MMDBReader(bytes: Self.countryDatabase(recordSize: recordSize))
        for address in [
            "8.8.8.8", "81.2.70.1", "81.2.68.255", "193.2.0.1", "0.0.0.0", "255.255.255.255",
            "2001:db8:300::1", "2001:db9::1", "2610::1", "::1", "ffff::",
        ] {
            #expect(reader.lookup(address) == nil, "\(address)")
            #expect(try reader.find(address) == nil, "\(address)")
        }
    }

    @Test func ipv4AddressesInAnIPv6DatabaseUseTheIPv4Subtree() throws {
        let reader = try MMDBReader(bytes: Self.countryDatabase(recordSize: 28))
        #expect(reader.country("81.2.69.1") == "GB")
        // the same network written as IPv4-mapped and IPv4-compatible (::/96) IPv6
        #expect(reader.country("::ffff:81.2.69.1") == "GB")
        #expect(reader.country("::ffff:5102:4501") == "GB")
        #expect(reader.country("::81.2.69.1") == "GB")
        #expect(reader.country("::5102:4501") == "GB")
        #expect(reader.country("::5102:4601") == nil)
    }

    @Test(arguments: [24, 28, 32])
    func mostSpecificNetworkWins(recordSize: Int) throws {
        // the narrower network is inserted first: the writer must still keep it
        var writer = MMDBWriter(recordSize: recordSize)
        writer.insert(network: "10.20.30.0/24", country: "GB")
        writer.insert(network: "10.20.0.0/16", country: "US")
        writer.insert(network: "10.20.30.128/25", country: "IE")
        writer.insert(network: "2001:db8::/32", country: "US")
        writer.insert(network: "2001:db8:abcd::/48", country: "GB")
        let reader = try MMDBReader(bytes: writer.build())
        #expect(reader.country("10.20.30.5") == "GB")
        #expect(reader.country("10.20.30.127") == "GB")
        #expect(reader.country("10.20.30.128") == "IE")
        #expect(reader.country("10.20.30.255") == "IE")
        #expect(reader.country("10.20.31.0") == "US")
        #expect(reader.country("10.20.29.255") == "US")
        #expect(reader.country("10.20.0.0") == "US")
        #expect(reader.country("10.21.0.0") == nil)
        #expect(reader.country("2001:db8:abcd:1::1") == "GB")
        #expect(reader.country("2001:db8:abce::1") == "US")
        #expect(reader.country("2001:db7::1") == nil)
    }

    @Test func fullRecordAndMetadata() throws {
        let reader = try MMDBReader(bytes: Self.countryDatabase(recordSize: 24))
        let record = try #require(reader.lookup("81.2.69.10"))
        #expect(
            record
                == .map([
                    "country": .map([
                        "iso_code": .string("GB"),
                        "names": .map(["en": .string("United Kingdom")]),
                    ])
                ]))
        #expect(record["country"]?["names"]?["en"]?.string == "United Kingdom")
        #expect(record["country"]?["missing"] == nil && record["country"]?.string == nil)
        #expect(reader.lookup("216.160.83.56") == .map(["country": .map(["iso_code": .string("US")])]))
        #expect(reader.metadata.databaseType == "HealthHub-Test-Country")
        #expect(reader.metadata.languages == ["en"])
        #expect(reader.metadata.description == ["en": "HealthHub test database"])
        #expect(reader.metadata.binaryFormatMajorVersion == 2 && reader.metadata.binaryFormatMinorVersion == 0)
        #expect(reader.metadata.buildEpoch == 1_700_000_000)
    }

    @Test func countryFallsBackToRegisteredCountry() throws {
        var writer = MMDBWriter()
        writer.insert(
            network: "198.51.100.0/24",
            value: .map([
                ("registered_country", .map([("iso_code", .string("DE"))]))
            ]))
        writer.insert(
            network: "203.0.113.0/24",
            value: .map([
                ("country", .map([("iso_code", .string("FR"))])),
                ("registered_country", .map([("iso_code", .string("DE"))])),
            ]))
        writer.insert(network: "192.0.2.0/24", value: .map([("continent", .map([("code", .string("EU"))]))]))
        let reader = try MMDBReader(bytes: writer.build())
        #expect(reader.country("198.51.100.1") == "DE")
        #expect(reader.country("203.0.113.1") == "FR")
        #expect(reader.country("192.0.2.1") == nil)
        #expect(reader.lookup("192.0.2.1")?["continent"]?["code"]?.string == "EU")
    }

    @Test func decodesEveryDataType() throws {
        let long300 = String(repeating: "x", count: 300)
        let long70k = String(repeating: "y", count: 70_000)
        var writer = MMDBWriter(recordSize: 32)
        writer.insert(
            network: "100.64.0.0/10",
            value: .map([
                ("string", .string("héllo")), ("empty", .string("")), ("s40", .string(String(repeating: "z", count: 40))),
                ("s300", .string(long300)), ("s70k", .string(long70k)),
                ("double", .double(-2.5)), ("float", .float(1.25)), ("bytes", .bytes([0, 1, 0xFF])),
                ("u16", .uint16(65_535)), ("u32", .uint32(4_000_000_000)), ("zero", .uint32(0)),
                ("i32", .int32(-7)), ("u64", .uint64(UInt64.max)), ("u128", .uint128(UInt128(UInt64.max) << 8 | 0xAB)),
                ("t", .bool(true)), ("f", .bool(false)),
                ("array", .array([.string("a"), .uint16(2), .array([])])), ("nested", .map([("deep", .map([]))])),
            ]))
        let reader = try MMDBReader(bytes: writer.build())
        let expected: MMDBValue = .map([
            "string": .string("héllo"), "empty": .string(""), "s40": .string(String(repeating: "z", count: 40)),
            "s300": .string(long300), "s70k": .string(long70k),
            "double": .double(-2.5), "float": .float(1.25), "bytes": .bytes([0, 1, 0xFF]),
            "u16": .uint16(65_535), "u32": .uint32(4_000_000_000), "zero": .uint32(0),
            "i32": .int32(-7), "u64": .uint64(UInt64.max), "u128": .uint128(UInt128(UInt64.max) << 8 | 0xAB),
            "t": .bool(true), "f": .bool(false),
            "array": .array([.string("a"), .uint16(2), .array([])]), "nested": .map(["deep": .map([:])]),
        ])
        #expect(reader.lookup("100.100.1.1") == expected)
    }

    @Test func followsPointersOfEverySize() throws {
        let iso = MMDBWriter.encode(.string("GB"))
        let farOffset = 530_000
        var data = iso + [UInt8](repeating: 0, count: 3000 - iso.count) + MMDBWriter.encode(.string("IE"))
        data += [UInt8](repeating: 0, count: farOffset - data.count) + MMDBWriter.encode(.string("US"))
        let isoCodeKey = data.count
        data += MMDBWriter.encode(.string("iso_code"))
        func record(_ pointer: [UInt8]) -> [UInt8] {
            // {"country": {"iso_code": <pointer>}}, the key "iso_code" itself read through a pointer
            MMDBWriter.header(type: 7, size: 1) + MMDBWriter.encode(.string("country"))
                + MMDBWriter.header(type: 7, size: 1) + MMDBWriter.pointer(to: isoCodeKey) + pointer
        }
        let small = data.count
        data += record(MMDBWriter.pointer(to: 0))
        let medium = data.count
        data += record(MMDBWriter.pointer(to: 3000))
        let large = data.count
        data += record(MMDBWriter.pointer(to: farOffset))
        let fourByte = data.count
        data += record([0x38, 0, 0, 0, 0])
        #expect(MMDBWriter.pointer(to: 0).count == 2 && MMDBWriter.pointer(to: 3000).count == 3)
        #expect(MMDBWriter.pointer(to: farOffset).count == 4)
        #expect(isoCodeKey == farOffset + 3)

        for (offset, country) in [(small, "GB"), (medium, "IE"), (large, "US"), (fourByte, "GB")] {
            let reader = try MMDBReader(bytes: Self.crafted(dataSection: data, dataOffset: offset))
            #expect(reader.country("1.2.3.4") == country)
            #expect(reader.country("200.1.1.1") == nil)
        }
    }

    /// Records above 2^24 exercise the high nibble (28-bit) and high byte (32-bit) of a record.
    @Test(arguments: [28, 32])
    func recordValuesAboveTwentyFourBits(recordSize: Int) throws {
        func record(_ country: String) -> [UInt8] {
            MMDBWriter.encode(.map([("country", .map([("iso_code", .string(country))]))]))
        }
        // a record that lost its high bits would land on "IE" at offset 0
        let gbOffset = 1 << 24
        let usOffset = gbOffset + record("GB").count
        var data = record("IE")
        data += [UInt8](repeating: 0, count: gbOffset - data.count) + record("GB") + record("US")
        let bytes = MMDBWriter.assemble(
            records: [(1 + 16 + gbOffset, 1 + 16 + usOffset)], recordSize: recordSize, dataSection: data,
            metadata: Self.metadata(recordSize: recordSize)
        )
        let reader = try MMDBReader(bytes: bytes)
        #expect(reader.country("1.2.3.4") == "GB")
        #expect(reader.country("200.1.1.1") == "US")
    }

    @Test func invalidAddressesAreNil() throws {
        let reader = try MMDBReader(bytes: Self.countryDatabase(recordSize: 24))
        for address in [
            "", "not-an-ip", "256.1.1.1", "81.2.69", "81.2.69.1.5", "81.2.69.-1", " 81.2.69.1",
            "81.2.69.1 ", "81.2.69.1/24", "81.2.69.1\u{0}", "2001:db8:100::g", "1:2:3:4:5:6:7:8:9",
            "2001:db8:100::1::2", ":::", "[2001:db8:100::1]", "fe80::1%eth0",
            String(repeating: "1", count: 100),
        ] {
            #expect(reader.lookup(address) == nil, "\(address)")
            #expect(reader.country(address) == nil, "\(address)")
            #expect(throws: MMDBError.invalidAddress(address)) { try reader.find(address) }
        }
    }

    @Test func emptyDatabaseFindsNothing() throws {
        let reader = try MMDBReader(bytes: MMDBWriter(ipVersion: 6, recordSize: 28).build())
        #expect(reader.metadata.nodeCount == 1)
        #expect(reader.lookup("81.2.69.1") == nil && reader.lookup("2001:db8::1") == nil)
    }

    @Test func opensFilesFromDisk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmdb-\(UUID().uuidString).mmdb")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(Self.countryDatabase(recordSize: 28)).write(to: url)
        let reader = try MMDBReader(path: url.path)
        #expect(reader.country("193.1.2.3") == "IE")
        #expect(throws: MMDBError.self) { _ = try MMDBReader(path: url.path + ".missing") }
    }

    // MARK: - Malformed files

    @Test func everyTruncationThrows() throws {
        let bytes = Self.countryDatabase(recordSize: 28)
        _ = try MMDBReader(bytes: bytes)
        for length in 0..<bytes.count {
            #expect(throws: MMDBError.self, "length \(length)") { _ = try MMDBReader(bytes: Array(bytes[..<length])) }
        }
    }

    @Test func garbageAndMissingMarkerThrow() {
        var generator = SplitMix(seed: 42)
        for size in [0, 1, 13, 14, 100, 5000] {
            let garbage = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            #expect(throws: MMDBError.missingMetadataMarker) { _ = try MMDBReader(bytes: garbage) }
            // marker followed by garbage: metadata cannot be decoded into a valid map
            #expect(throws: MMDBError.self) { _ = try MMDBReader(bytes: garbage + MMDBWriter.metadataMarker + garbage) }
        }
        #expect(throws: MMDBError.missingMetadataMarker) { _ = try MMDBReader(bytes: Array("hello, world".utf8)) }
        // marker with nothing after it
        #expect(throws: MMDBError.invalidMetadata("read past the end of the section")) {
            _ = try MMDBReader(bytes: MMDBWriter.metadataMarker)
        }
        // metadata that is not a map
        #expect(throws: MMDBError.invalidMetadata("metadata is not a map")) {
            _ = try MMDBReader(bytes: MMDBWriter.metadataMarker + MMDBWriter.encode(.string("x")))
        }
    }

    @Test func invalidMetadataThrows() {
        func open(_ metadata: MMDBWriter.Value, nodes: Int = 1) throws(MMDBError) {
            let records = Array(repeating: (nodes, nodes), count: nodes)
            _ = try MMDBReader(bytes: MMDBWriter.assemble(records: records, recordSize: 24, dataSection: [], metadata: metadata))
        }
        #expect(throws: MMDBError.unsupportedRecordSize(20)) { try open(Self.metadata(recordSize: 20)) }
        #expect(throws: MMDBError.unsupportedFormatVersion(1)) { try open(Self.metadata(major: 1)) }
        #expect(throws: MMDBError.unsupportedIPVersion(5)) { try open(Self.metadata(ipVersion: 5)) }
        #expect(throws: MMDBError.invalidMetadata("missing node_count")) { try open(Self.metadata(drop: "node_count")) }
        #expect(throws: MMDBError.invalidMetadata("missing record_size")) { try open(Self.metadata(drop: "record_size")) }
        #expect(throws: MMDBError.invalidMetadata("node_count is not an unsigned integer up to 4294967295")) {
            try open(
                .map([
                    ("binary_format_major_version", .uint16(2)), ("record_size", .uint16(24)),
                    ("ip_version", .uint16(4)), ("node_count", .string("1")),
                ]))
        }
        // more nodes than the file holds
        #expect(throws: MMDBError.self) { try open(Self.metadata(nodeCount: 1_000_000)) }
        #expect(throws: MMDBError.self) { try open(Self.metadata(nodeCount: Int(UInt32.max))) }
        // the minimal valid file opens
        #expect(throws: Never.self) { try open(Self.metadata()) }
    }

    @Test func corruptSearchTreeDoesNotCrash() throws {
        // node 0 points to itself on both sides: the walk stops after 32 bits
        let loop = MMDBWriter.assemble(records: [(0, 0)], recordSize: 24, dataSection: [], metadata: Self.metadata())
        let loopReader = try MMDBReader(bytes: loop)
        #expect(loopReader.lookup("1.2.3.4") == nil)
        #expect(throws: MMDBError.corrupt("search tree deeper than the address")) { try loopReader.find("1.2.3.4") }
        // records pointing past the data section or into the 16-byte separator
        let outside = MMDBWriter.assemble(
            records: [(1 + 16 + 500, 1 + 5)], recordSize: 24,
            dataSection: [0x40], metadata: Self.metadata())
        let outsideReader = try MMDBReader(bytes: outside)
        #expect(outsideReader.lookup("1.2.3.4") == nil)
        #expect(outsideReader.lookup("200.2.3.4") == nil)
        // a string whose length runs past the data section
        let truncatedString = try MMDBReader(bytes: Self.crafted(dataSection: [0x5C, 0x41]))
        #expect(truncatedString.lookup("1.2.3.4") == nil)
    }

    @Test func pointerLoopsDoNotHang() throws {
        // a pointer to itself
        let selfPointer = try MMDBReader(bytes: Self.crafted(dataSection: [0x20, 0x00]))
        #expect(selfPointer.lookup("1.2.3.4") == nil)
        #expect(throws: MMDBError.corrupt("pointer to a pointer at 0")) { try selfPointer.find("1.2.3.4") }
        // two pointers pointing at each other
        let pingPong = try MMDBReader(bytes: Self.crafted(dataSection: [0x20, 0x02, 0x20, 0x00]))
        #expect(pingPong.lookup("1.2.3.4") == nil)
        #expect(throws: MMDBError.corrupt("pointer to a pointer at 2")) { try pingPong.find("1.2.3.4") }
        // {"a": <pointer to this map>}: a container cycle
        let cycle = MMDBWriter.header(type: 7, size: 1) + MMDBWriter.encode(.string("a")) + MMDBWriter.pointer(to: 0)
        let cyclic = try MMDBReader(bytes: Self.crafted(dataSection: cycle))
        #expect(cyclic.lookup("1.2.3.4") == nil)
        #expect(cyclic.country("1.2.3.4") == nil)
        #expect(throws: MMDBError.corrupt("data nested deeper than 32")) { try cyclic.find("1.2.3.4") }
    }

    @Test func pointerFanOutIsBounded() throws {
        // level k is an array of 64 pointers to level k-1: 64^10 values if fully expanded
        var data = MMDBWriter.encode(.string("leaf"))
        var previous = 0
        for _ in 0..<10 {
            let start = data.count
            data += MMDBWriter.header(type: 11, size: 64)
            for _ in 0..<64 { data += MMDBWriter.pointer(to: previous) }
            previous = start
        }
        let fanOut = try MMDBReader(bytes: Self.crafted(dataSection: data, dataOffset: previous))
        #expect(throws: MMDBError.corrupt("record too large to decode")) { try fanOut.find("1.2.3.4") }

        // 1000 pointers to one 60 kB string would materialise 60 MB
        var amplify = MMDBWriter.encode(.string(String(repeating: "a", count: 60_000)))
        let arrayStart = amplify.count
        amplify += MMDBWriter.header(type: 11, size: 1000)
        for _ in 0..<1000 { amplify += MMDBWriter.pointer(to: 0) }
        let payload = try MMDBReader(bytes: Self.crafted(dataSection: amplify, dataOffset: arrayStart))
        #expect(throws: MMDBError.corrupt("record strings too large to decode")) { try payload.find("1.2.3.4") }
    }

    @Test func malformedValuesThrowInsteadOfCrashing() throws {
        let cases: [[UInt8]] = [
            [0x00, 0x05],  // extended type 12 (data cache container)
            [0x00, 0x06],  // extended type 13 (end marker)
            [0x00, 0x00],  // extended type 7 is not a valid encoding
            [0x00, 0xF0],  // extended type 247
            [0x00],  // extended type byte missing
            [0x64, 1, 2, 3, 4],  // double of size 4
            [0x04, 0x08, 1, 2, 3],  // float of size 4, payload cut short
            [0xA3, 1, 2, 3],  // uint16 of size 3
            [0x09, 0x02] + [UInt8](repeating: 1, count: 9),  // uint64 of size 9
            [0x11, 0x03] + [UInt8](repeating: 1, count: 17),  // uint128 of size 17
            [0x02, 0x07],  // boolean of size 2
            [0xE1, 0xA1, 0x01, 0x41],  // map key is not a string
            [0xFF, 0xFF, 0xFF, 0xFF],  // map claiming 16 M entries
            [0x1F, 0x04, 0xFF, 0xFF, 0xFF],  // array claiming 16 M items
            [0x5D],  // string size byte missing
            [0x27, 0xFF],  // pointer past the end
            [0x38, 0xFF, 0xFF, 0xFF, 0xFF],  // 4-byte pointer past the end
        ]
        for data in cases {
            let reader = try MMDBReader(bytes: Self.crafted(dataSection: data))
            #expect(reader.lookup("1.2.3.4") == nil, "\(data)")
            #expect(throws: MMDBError.self, "\(data)") { try reader.find("1.2.3.4") }
        }
    }
}

/// Deterministic pseudo-random numbers for garbage inputs.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
