import Foundation

/// An IPv4 or IPv6 address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
package struct IPRange: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefix: Int
    package let description: String

    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = IPRange.parse(parts[0]) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
        bytes = address
        description = text
    }

    package func contains(_ address: String) -> Bool {
        guard let other = IPRange.parse(address) else { return false }
        return contains(bytes: other)
    }

    /// For an address already parsed (4 or 16 bytes).
    func contains(bytes other: [UInt8]) -> Bool {
        guard other.count == bytes.count else { return false }
        var remaining = prefix
        for i in bytes.indices where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if bytes[i] & mask != other[i] & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// Loopback, private (RFC 1918), link-local, CGNAT and IPv6 unique-local addresses: never
    /// from another country as far as the geo allow-list is concerned.
    static let internalRanges = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
        "::1/128", "fc00::/7", "fe80::/10",
    ].compactMap(IPRange.init)

    package static func isInternal(_ address: String) -> Bool {
        guard let bytes = parse(address) else { return false }
        return internalRanges.contains { $0.contains(bytes: bytes) }
    }

    /// 4 bytes for IPv4, 16 for IPv6 (IPv4-mapped IPv6 addresses are read as IPv4).
    static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            if let dot = text.lastIndex(of: ":"), text.lowercased().hasPrefix("::ffff:"), text[text.index(after: dot)...].contains(".") {
                return parse(String(text[text.index(after: dot)...]))
            }
            let halves = text.components(separatedBy: "::")
            guard halves.count <= 2 else { return nil }
            func groups(_ s: String) -> [UInt16]? {
                if s.isEmpty { return [] }
                let gs = s.split(separator: ":", omittingEmptySubsequences: false)
                var out: [UInt16] = []
                for g in gs {
                    guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                    out.append(v)
                }
                return out
            }
            guard let head = groups(halves[0]) else { return nil }
            let tail = halves.count == 2 ? groups(halves[1]) : []
            guard let tail else { return nil }
            let missing = 8 - head.count - tail.count
            guard (halves.count == 2 && missing >= 1) || (halves.count == 1 && missing == 0) else { return nil }
            let all = head + [UInt16](repeating: 0, count: max(0, missing)) + tail
            return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        }
        // Dotted quad, read byte by byte (this runs for every request).
        var out: [UInt8] = []
        out.reserveCapacity(4)
        var value = 0
        var digits = 0
        for byte in text.utf8 {
            if byte == 0x2E {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(value))
                value = 0
                digits = 0
            } else if byte >= 0x30 && byte <= 0x39 {
                value = value * 10 + Int(byte - 0x30)
                digits += 1
                guard digits <= 3, value <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(value))
        return out
    }
}
