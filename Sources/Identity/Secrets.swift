import Crypto
import Foundation
import Kernel

/// Random tokens and their stored form.
package enum Secrets {
    /// `bytes` random bytes, base64url: the form of codes, refresh tokens, session ids, secrets.
    package static func token(bytes: Int = 32) -> String {
        var out = [UInt8](repeating: 0, count: bytes)
        for i in out.indices { out[i] = UInt8.random(in: 0...255) }
        return Base64URL.encode(out)
    }

    /// SHA-256 hex: how high-entropy tokens are stored (a database leak yields no usable token).
    package static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }

    package static func nowMillis(_ date: Date = Now.date) -> Int64 { Int64(date.timeIntervalSince1970 * 1000) }
}
