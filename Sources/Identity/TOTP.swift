import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238): HMAC-SHA1, 6 digits, 30-second steps, the
/// parameters every authenticator app supports.
package struct TOTP: Sendable {
    package let secret: [UInt8]
    package static let digits = 6
    package static let step: Int64 = 30

    package init(secret: [UInt8]) { self.secret = secret }

    /// A new random 160-bit secret (RFC 4226 recommends 160 bits).
    package static func generate() -> TOTP {
        var bytes = [UInt8](repeating: 0, count: 20)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return TOTP(secret: bytes)
    }

    /// The code of time step `counter` (HOTP, RFC 4226 §5.3).
    package func code(counter: Int64) -> String {
        var message = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { message[7 - i] = UInt8(truncatingIfNeeded: counter >> (8 * i)) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        let text = String(value)
        return String(repeating: "0", count: Self.digits - text.count) + text
    }

    package static func counter(at date: Date) -> Int64 { Int64(date.timeIntervalSince1970) / step }

    package func code(at date: Date) -> String { code(counter: Self.counter(at: date)) }

    /// The time step a code matches, allowing one step of clock drift either way; nil when it
    /// matches none. Callers refuse a step at or before the last one used (no replay).
    package func matchingCounter(_ code: String, at date: Date) -> Int64? {
        let code = code.filter { !$0.isWhitespace }
        guard code.count == Self.digits, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else { return nil }
        let now = Self.counter(at: date)
        for c in [now, now - 1, now + 1] where constantTimeEquals(self.code(counter: c), code) { return c }
        return nil
    }

    /// The enrolment URI authenticator apps read (usually from a QR code).
    package func uri(account: String, issuer: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@"))
        let label = "\(issuer):\(account)".addingPercentEncoding(withAllowedCharacters: allowed) ?? account
        let iss = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(iss)&algorithm=SHA1&digits=\(Self.digits)&period=\(Self.step)"
    }
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
package enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    package static func encode(_ bytes: [UInt8]) -> String {
        var out = ""
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            buffer = (buffer << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return out
    }

    package static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for ch in text.uppercased() where ch != "=" && ch != " " {
            guard let v = alphabet.firstIndex(of: ch) else { return nil }
            buffer = (buffer << 5) | UInt32(v)
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}

/// Compares secrets without an early exit, so timing does not reveal the matching prefix.
package func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in x.indices { diff |= x[i] ^ y[i] }
    return diff == 0
}
