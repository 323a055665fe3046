@preconcurrency import Crypto
import Foundation
import Kernel
@preconcurrency import _CryptoExtras

/// Compact JWS (RFC 7515) as HealthHub uses it: it signs with ES256 only and verifies ES256,
/// ES384, RS256 and RS384 (what SMART Backend Services clients sign assertions with). `alg=none`,
/// HMAC algorithms and anything else are refused before any key is looked at.
///
/// Hand-written on swift-crypto rather than jwt-kit: ~150 lines instead of a dependency tree
/// (swift-certificates, swift-asn1) that adds minutes to every clean CI build, and the list of
/// accepted algorithms is explicit here.
package enum JWT {
    package static let verifiableAlgorithms: Set<String> = ["ES256", "ES384", "RS256", "RS384"]

    package struct Header: Codable, Sendable {
        package var alg: String
        package var kid: String?
        package var typ: String?
    }

    /// A token split and decoded, not yet verified.
    package struct Parsed: Sendable {
        package let header: Header
        package let claims: Claims
        package let signingInput: Data
        package let signature: Data
    }

    package static func sign(_ claims: Claims, key: P256.Signing.PrivateKey, kid: String, typ: String = "JWT") throws -> String {
        let header = Header(alg: "ES256", kid: kid, typ: typ)
        let input = Base64URL.encode(try JSON(encoding: header).serialized()) + "." + Base64URL.encode(try JSON(encoding: claims).serialized())
        let signature = try key.signature(for: Data(input.utf8))
        return input + "." + Base64URL.encode(signature.rawRepresentation)
    }

    package static func parse(_ token: String) throws(IdentityError) -> Parsed {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 16_384, parts.count == 3,
            let headerData = Base64URL.decode(String(parts[0])),
            let claimsData = Base64URL.decode(String(parts[1])),
            let signature = Base64URL.decode(String(parts[2]))
        else {
            throw .invalidGrant("The token is not a well-formed JWT")
        }
        let decoder = JSONDecoder()
        guard let header = try? decoder.decode(Header.self, from: headerData) else { throw .invalidGrant("The JWT header is invalid") }
        guard verifiableAlgorithms.contains(header.alg) else { throw .invalidGrant("The JWT algorithm '\(header.alg.prefix(16))' is not accepted") }
        guard let claims = try? decoder.decode(Claims.self, from: claimsData) else { throw .invalidGrant("The JWT claims are invalid") }
        return Parsed(header: header, claims: claims, signingInput: Data("\(parts[0]).\(parts[1])".utf8), signature: signature)
    }

    /// Whether `parsed` is signed by `key` with the algorithm its header names.
    package static func verify(_ parsed: Parsed, with key: JWK) -> Bool {
        switch (parsed.header.alg, key.publicKey) {
        case ("ES256", .p256(let k)):
            guard let s = try? P256.Signing.ECDSASignature(rawRepresentation: parsed.signature) else { return false }
            return k.isValidSignature(s, for: parsed.signingInput)
        case ("ES384", .p384(let k)):
            guard let s = try? P384.Signing.ECDSASignature(rawRepresentation: parsed.signature) else { return false }
            return k.isValidSignature(s, for: parsed.signingInput)
        case ("RS256", .rsa(let k)):
            return k.isValidSignature(.init(rawRepresentation: parsed.signature), for: SHA256.hash(data: parsed.signingInput), padding: .insecurePKCS1v1_5)
        case ("RS384", .rsa(let k)):
            return k.isValidSignature(.init(rawRepresentation: parsed.signature), for: SHA384.hash(data: parsed.signingInput), padding: .insecurePKCS1v1_5)
        default:
            return false
        }
    }

    /// The registered and SMART claims HealthHub reads and writes.
    package struct Claims: Codable, Sendable, Equatable {
        package var iss: String?
        package var sub: String?
        package var aud: Audience?
        package var exp: Int64?
        package var iat: Int64?
        package var nbf: Int64?
        package var jti: String?
        package var scope: String?
        // swift-format-ignore: AlwaysUseLowerCamelCase
        // (The JWT claim name.)
        package var client_id: String?
        /// HealthHub: the account's role.
        package var role: String?
        /// SMART: the patient in context.
        package var patient: String?
        /// SMART / OpenID: the user's FHIR resource (`https://.../fhir/Practitioner/7`).
        package var fhirUser: String?
        package var nonce: String?
        /// HealthHub: the refresh-token family an access token descends from.
        package var fam: String?

        package init(iss: String? = nil, sub: String? = nil, aud: Audience? = nil, exp: Int64? = nil, iat: Int64? = nil, jti: String? = nil) {
            self.iss = iss
            self.sub = sub
            self.aud = aud
            self.exp = exp
            self.iat = iat
            self.jti = jti
        }
    }

    /// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
    package struct Audience: Codable, Sendable, Equatable {
        package var values: [String]
        package init(_ values: [String]) { self.values = values }
        package init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let one = try? c.decode(String.self) { values = [one] } else { values = try c.decode([String].self) }
        }
        package func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            if values.count == 1 { try c.encode(values[0]) } else { try c.encode(values) }
        }
    }
}

/// A public JSON Web Key (RFC 7517) of the kinds HealthHub verifies.
package struct JWK: Sendable {
    package enum PublicKey: Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
    }

    package let kid: String?
    package let publicKey: PublicKey

    package init(kid: String?, publicKey: PublicKey) {
        self.kid = kid
        self.publicKey = publicKey
    }

    /// Reads one key of a JWK Set; nil for key types or curves HealthHub does not verify.
    package init?(json: JSON) {
        let kid = json["kid"]?.stringValue
        switch json["kty"]?.stringValue {
        case "EC":
            guard let x = json["x"]?.stringValue.flatMap(Base64URL.decode), let y = json["y"]?.stringValue.flatMap(Base64URL.decode) else { return nil }
            switch json["crv"]?.stringValue {
            case "P-256":
                guard let k = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
                self.init(kid: kid, publicKey: .p256(k))
            case "P-384":
                guard let k = try? P384.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
                self.init(kid: kid, publicKey: .p384(k))
            default: return nil
            }
        case "RSA":
            guard let n = json["n"]?.stringValue.flatMap(Base64URL.decode), let e = json["e"]?.stringValue.flatMap(Base64URL.decode),
                n.count >= 256, let k = try? _RSA.Signing.PublicKey(n: n, e: e)
            else { return nil }
            self.init(kid: kid, publicKey: .rsa(k))
        default:
            return nil
        }
    }

    /// The keys of a JWK Set document (`{"keys": [...]}`) that HealthHub can use.
    package static func set(_ data: Data) throws(IdentityError) -> [JWK] {
        guard let keys = (try? JSON.parse(data))?["keys"]?.arrayValue else {
            throw .rejected("A JWK Set is a JSON object with a \"keys\" array")
        }
        let parsed = keys.compactMap(JWK.init(json:))
        guard !parsed.isEmpty else { throw .rejected("The JWK Set has no EC P-256/P-384 or RSA (2048+ bit) key") }
        return parsed
    }

    /// The public JWK of one of HealthHub's own ES256 signing keys.
    package static func publicJSON(_ key: P256.Signing.PublicKey, kid: String) -> JSON {
        let raw = key.rawRepresentation
        return [
            "kty": "EC", "crv": "P-256", "kid": .string(kid), "use": "sig", "alg": "ES256",
            "x": .string(Base64URL.encode(raw.prefix(32))), "y": .string(Base64URL.encode(raw.suffix(32))),
        ]
    }
}

package enum Base64URL {
    package static func encode(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    package static func decode(_ text: String) -> Data? {
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}
