import Crypto
import Foundation
import Identity
import Kernel
import Testing
import _CryptoExtras

@Suite struct TOTPTests {
    /// RFC 6238 appendix B, SHA-1 seed; HealthHub shows the last six of the eight digits.
    @Test(arguments: [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"), (2_000_000_000, "279037")])
    func rfc6238Vectors(_ time: Int, _ expected: String) {
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        #expect(totp.code(at: Date(timeIntervalSince1970: TimeInterval(time))) == expected)
    }

    @Test func acceptsOneStepOfDriftOnly() {
        let totp = TOTP.generate()
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let step = TOTP.counter(at: now)
        #expect(totp.matchingCounter(totp.code(counter: step - 1), at: now) == step - 1)
        #expect(totp.matchingCounter(totp.code(counter: step + 1), at: now) == step + 1)
        #expect(totp.matchingCounter(totp.code(counter: step - 3), at: now) == nil)
        #expect(totp.matchingCounter("12345", at: now) == nil)
        #expect(totp.matchingCounter("abcdef", at: now) == nil)
    }

    @Test func enrolmentURIAndBase32() throws {
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        #expect(Base32.encode(totp.secret) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        #expect(Base32.decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") == totp.secret)
        let uri = totp.uri(account: "dr.who@example.org", issuer: "HealthHub")
        #expect(uri == "otpauth://totp/HealthHub%3Adr.who@example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=HealthHub&algorithm=SHA1&digits=6&period=30")
    }
}

@Suite struct PasswordPolicyTests {
    let policy = try! PasswordPolicy()

    @Test(arguments: ["short1!", "password1234", "123456789012", "qwertyuiopasdf", "aaaaaaaaaaaaaaaa", "abababababababab", "Dragon123456!!"])
    func refusesWeakPasswords(_ password: String) {
        #expect(policy.problem(with: password) != nil)
    }

    @Test(arguments: ["correct horse battery staple", "Tr0ub4dor&3-extended", "glacier-mint-4417-harbor"])
    func acceptsStrongPasswords(_ password: String) {
        #expect(policy.problem(with: password) == nil)
    }

    @Test func bcryptCostIsAtLeast12() async {
        let hash = PasswordHasher.hash("correct horse battery staple")
        #expect(hash.hasPrefix("$2b$12$") || hash.hasPrefix("$2a$12$") || hash.hasPrefix("$2y$12$"))
        #expect(await PasswordHasher.verify("correct horse battery staple", hash: hash))
        #expect(await !PasswordHasher.verify("correct horse battery stapl", hash: hash))
    }
}

@Suite struct ScopeTests {
    @Test func parsesV2AndV1Scopes() throws {
        let s = ScopeSet("patient/Observation.rs user/*.cruds system/*.read launch/patient openid patient/Condition.rs?category=x user/Patient.write")
        #expect(s.contexts(granting: .read, on: "Observation") == [.patient, .user, .system])
        #expect(s.contexts(granting: .search, on: "Encounter") == [.user, .system])
        #expect(s.contexts(granting: .create, on: "Encounter") == [.user])
        #expect(s.contexts(granting: .delete, on: "Patient") == [.user])
        #expect(s.contexts(granting: .update, on: "Patient") == [.user])
        // a scope with a query grants nothing (HealthHub does not enforce scope queries)
        #expect(!s.resources.contains { $0.resourceType == "Condition" })
        #expect(s.contains("launch/patient") && s.contains("openid"))
    }

    @Test(arguments: ["patient/Observation.sr", "patient/Observation.rr", "patient/observation.rs", "patient/Observation.", "nobody/*.rs", "patient/*.x"])
    func refusesMalformedScopes(_ text: String) {
        #expect(ResourceScope(text) == nil)
    }
}

@Suite struct JWTTests {
    let key = P256.Signing.PrivateKey()

    func claims(exp: Int64 = Int64(Date().timeIntervalSince1970) + 60) -> JWT.Claims {
        var c = JWT.Claims(iss: "https://hh.example", sub: "u1", aud: .init(["https://hh.example/fhir"]), exp: exp, iat: 0, jti: "j1")
        c.scope = "user/*.rs"
        return c
    }

    @Test func signsAndVerifiesES256() throws {
        let token = try JWT.sign(claims(), key: key, kid: "k1")
        let parsed = try JWT.parse(token)
        #expect(parsed.header.alg == "ES256" && parsed.header.kid == "k1")
        #expect(parsed.claims == claims(exp: parsed.claims.exp!))
        #expect(JWT.verify(parsed, with: JWK(kid: "k1", publicKey: .p256(key.publicKey))))
        #expect(!JWT.verify(parsed, with: JWK(kid: "k1", publicKey: .p256(P256.Signing.PrivateKey().publicKey))))
    }

    @Test func changedPayloadFailsVerification() throws {
        let token = try JWT.sign(claims(), key: key, kid: "k1")
        var parts = token.split(separator: ".").map(String.init)
        var c = claims()
        c.sub = "admin"
        parts[1] = Base64URL.encode(try JSONEncoder().encode(c))
        let parsed = try JWT.parse(parts.joined(separator: "."))
        #expect(!JWT.verify(parsed, with: JWK(kid: "k1", publicKey: .p256(key.publicKey))))
    }

    @Test(arguments: ["none", "HS256", "PS256", "ES512"])
    func refusesOtherAlgorithms(_ alg: String) throws {
        let header = Base64URL.encode(Data("{\"alg\":\"\(alg)\",\"typ\":\"JWT\"}".utf8))
        let body = Base64URL.encode(try JSONEncoder().encode(claims()))
        #expect(throws: IdentityError.self) { try JWT.parse("\(header).\(body).") }
        #expect(throws: IdentityError.self) { try JWT.parse("\(header).\(body).c2ln") }
    }

    @Test func verifiesRS384FromAJWKSet() throws {
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let primitives = try rsa.publicKey.getKeyPrimitives()
        let jwks = #"{"keys":[{"kty":"RSA","kid":"r1","n":"\#(Base64URL.encode(primitives.modulus))","e":"\#(Base64URL.encode(primitives.publicExponent))"}]}"#
        let keys = try JWK.set(Data(jwks.utf8))
        let header = Base64URL.encode(Data(#"{"alg":"RS384","kid":"r1"}"#.utf8))
        let body = Base64URL.encode(try JSONEncoder().encode(claims()))
        let signature = try rsa.signature(for: SHA384.hash(data: Data("\(header).\(body)".utf8)), padding: .insecurePKCS1v1_5)
        let parsed = try JWT.parse("\(header).\(body).\(Base64URL.encode(signature.rawRepresentation))")
        #expect(JWT.verify(parsed, with: keys[0]))
    }
}
