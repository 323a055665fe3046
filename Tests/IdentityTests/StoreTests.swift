import Crypto
import Foundation
import Identity
import Kernel
import SQLKit
import Sealing
import Storage
import TestSupport
import Testing

/// The identity stores on a fresh database of each kind.
func withIdentity(_ kind: TestDatabaseKind, _ body: (IdentityServices, any Database) async throws -> Void) async throws {
    try await withIdentity(kind) { id, db, _ in try await body(id, db) }
}

func withIdentity(_ kind: TestDatabaseKind, _ body: (IdentityServices, any Database, Keyring) async throws -> Void) async throws {
    let migrations = MigrationRunner(Keyring.migrations + IdentityMigrations.all)
    try await TestDatabases.with(kind, migrations: migrations) { db in
        let key = MasterKey(key: SymmetricKey(size: .bits256), source: "test")
        let keyring = try await Keyring.load(from: db, masterKey: key)
        try await body(try await IdentityServices.open(database: db, keyring: keyring), db, keyring)
    }
}

let strongPassword = "glacier-mint-4417-harbor"

@Suite struct AccountTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func lockoutAfterFiveFailuresWithBackoff(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let user = try await id.accounts.create(email: "Nurse@Example.org", role: .admin, password: strongPassword, patientID: nil, practitionerID: nil)
            #expect(user.email == "nurse@example.org")
            let t0 = Date()
            for i in 1...4 {
                #expect(try await id.accounts.checkPassword(email: "nurse@example.org", password: "wrong-\(i)", now: t0) == .failed(userID: user.id, lockedNow: false))
            }
            #expect(try await id.accounts.checkPassword(email: "nurse@example.org", password: "wrong-5", now: t0) == .failed(userID: user.id, lockedNow: true))
            // locked: even the right password is refused
            guard case .locked(_, let until) = try await id.accounts.checkPassword(email: "nurse@example.org", password: strongPassword, now: t0) else {
                Issue.record("expected a lockout")
                return
            }
            #expect(until - Secrets.nowMillis(t0) > 14 * 60 * 1000 && until - Secrets.nowMillis(t0) <= 15 * 60 * 1000 + 5000)
            // after it expires, five more failures lock it again for twice as long (backoff)
            let later = Date(timeIntervalSince1970: Double(until) / 1000 + 1)
            for i in 6...9 {
                #expect(try await id.accounts.checkPassword(email: "nurse@example.org", password: "wrong-\(i)", now: later) == .failed(userID: user.id, lockedNow: false))
            }
            #expect(try await id.accounts.checkPassword(email: "nurse@example.org", password: "wrong-10", now: later) == .failed(userID: user.id, lockedNow: true))
            let again = try #require(try await id.accounts.find(id: user.id))
            #expect(again.lockedUntil - Secrets.nowMillis(later) > 29 * 60 * 1000 && again.lockedUntil - Secrets.nowMillis(later) <= 30 * 60 * 1000)
            // unknown accounts fail the same way without naming anyone
            #expect(try await id.accounts.checkPassword(email: "nobody@example.org", password: strongPassword) == .failed(userID: nil, lockedNow: false))
            // enabling lifts the lockout
            _ = try await id.accounts.setDisabled(email: "nurse@example.org", false)
            #expect(
                try await id.accounts.checkPassword(email: "nurse@example.org", password: strongPassword)
                    == .passwordAccepted(try #require(try await id.accounts.find(id: user.id))))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func createRefusesBadInput(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            await #expect(throws: IdentityError.self) {
                _ = try await id.accounts.create(email: "a@example.org", role: .admin, password: "password1234", patientID: nil, practitionerID: nil)
            }
            await #expect(throws: IdentityError.self) {
                _ = try await id.accounts.create(email: "not-an-email", role: .admin, password: strongPassword, patientID: nil, practitionerID: nil)
            }
            await #expect(throws: IdentityError.self) {
                _ = try await id.accounts.create(email: "p@example.org", role: .patient, password: strongPassword, patientID: nil, practitionerID: nil)
            }
            _ = try await id.accounts.create(email: "a@example.org", role: .auditor, password: strongPassword, patientID: nil, practitionerID: nil)
            await #expect(throws: IdentityError.rejected("An account with this email already exists")) {
                _ = try await id.accounts.create(email: "A@example.org", role: .admin, password: strongPassword, patientID: nil, practitionerID: nil)
            }
            #expect(try await id.accounts.list().map(\.email) == ["a@example.org"])
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func enrolmentCodesAreOneTimeExpiringAndPerAccount(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let dr = try await id.accounts.create(email: "dr@example.org", role: .practitioner, password: strongPassword, patientID: nil, practitionerID: "pr1")
            let other = try await id.accounts.create(email: "ops@example.org", role: .admin, password: strongPassword, patientID: nil, practitionerID: nil)
            let first = try await id.accounts.issueEnrolmentCode(userID: dr.id)
            let code = try await id.accounts.issueEnrolmentCode(userID: dr.id)  // replaces the first
            let otherCode = try await id.accounts.issueEnrolmentCode(userID: other.id)
            #expect(try await id.accounts.checkEnrolmentCode(userID: dr.id, code: code))
            #expect(try await !id.accounts.checkEnrolmentCode(userID: dr.id, code: first))
            #expect(try await !id.accounts.checkEnrolmentCode(userID: dr.id, code: otherCode))
            #expect(try await !id.accounts.checkEnrolmentCode(userID: dr.id, code: ""))
            #expect(try await !id.accounts.checkEnrolmentCode(userID: dr.id, code: code, now: Date().addingTimeInterval(8 * 24 * 3600)))
            let totp = try await id.accounts.enrolment(userID: dr.id)
            let now = Date()
            // a wrong authenticator code does not use the enrolment code up
            #expect(try await id.accounts.confirmEnrolment(userID: dr.id, code: totp.code(at: now.addingTimeInterval(-3600)), enrolmentCode: code, now: now) == nil)
            #expect(try await id.accounts.checkEnrolmentCode(userID: dr.id, code: code))
            #expect(try await id.accounts.confirmEnrolment(userID: dr.id, code: totp.code(at: now), enrolmentCode: "wrong", now: now) == nil)
            #expect(try await id.accounts.confirmEnrolment(userID: dr.id, code: totp.code(at: now), enrolmentCode: code, now: now) != nil)
            #expect(try await !id.accounts.checkEnrolmentCode(userID: dr.id, code: code))  // used up
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func totpEnrolmentCodesAndRecoveryCodes(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, db in
            let user = try await id.accounts.create(email: "dr@example.org", role: .practitioner, password: strongPassword, patientID: nil, practitionerID: "pr1")
            #expect(user.mfaRequired && !user.mfaEnrolled)
            let totp = try await id.accounts.enrolment(userID: user.id)
            #expect(try await id.accounts.enrolment(userID: user.id).secret == totp.secret)  // same secret until confirmed
            let now = Date()
            #expect(try await id.accounts.confirmEnrolment(userID: user.id, code: "000000", enrolmentCode: nil, now: now) == nil || totp.code(at: now) == "000000")
            let codes = try #require(try await id.accounts.confirmEnrolment(userID: user.id, code: totp.code(at: now), enrolmentCode: nil, now: now))
            #expect(codes.count == 10 && Set(codes).count == 10)
            #expect(try await id.accounts.find(id: user.id)?.mfaEnrolled == true)
            // the secret is sealed at rest
            let stored = try await db.read { db in try await db.raw("SELECT totp_secret FROM hh_user").first()!.decode(column: "totp_secret", as: Data.self) }
            #expect(stored.range(of: Data(totp.secret)) == nil)
            // the code used to enrol cannot be used again; the next step's can, once
            #expect(try await id.accounts.verifySecondFactor(userID: user.id, code: totp.code(at: now), now: now) == nil)
            let next = now.addingTimeInterval(30)
            #expect(try await id.accounts.verifySecondFactor(userID: user.id, code: totp.code(at: next), now: next) == .totp)
            #expect(try await id.accounts.verifySecondFactor(userID: user.id, code: totp.code(at: next), now: next) == nil)
            // recovery codes work once each, in any case and grouping
            #expect(try await id.accounts.verifySecondFactor(userID: user.id, code: codes[0].lowercased().replacingOccurrences(of: "-", with: " "), now: next) == .recoveryCode)
            #expect(try await id.accounts.verifySecondFactor(userID: user.id, code: codes[0], now: next) == nil)
            #expect(try await id.accounts.unusedRecoveryCodes(userID: user.id) == 9)
            // reset-mfa removes both
            _ = try await id.accounts.resetMFA(email: "dr@example.org")
            #expect(try await id.accounts.verifySecondFactor(userID: user.id, code: codes[1], now: next) == nil)
            #expect(try await id.accounts.find(id: user.id)?.mfaEnrolled == false)
        }
    }
}

@Suite struct GrantTests {
    func approval(_ clientID: String, verifier: String) -> GrantStore.Approval {
        .init(
            clientID: clientID, userID: "u1", redirectURI: "https://app.example/cb", scope: ScopeSet("patient/*.rs offline_access"),
            patientID: "p1", codeChallenge: GrantStore.challenge(for: verifier), nonce: nil)
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func codesNeedTheRightVerifierAndWorkOnce(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let verifier = String(repeating: "v", count: 43) + "Xy-._~"
            let code = try await id.grants.createCode(approval("c1", verifier: verifier))
            await #expect(throws: IdentityError.invalidGrant("code_verifier does not match the code_challenge (PKCE)")) {
                _ = try await id.grants.redeemCode(code, clientID: "c1", redirectURI: "https://app.example/cb", verifier: String(repeating: "w", count: 43))
            }
            // another client presenting the code changes nothing for it
            await #expect(throws: IdentityError.invalidGrant("The authorization code was issued to another client")) {
                _ = try await id.grants.redeemCode(code, clientID: "c2", redirectURI: "https://app.example/cb", verifier: verifier)
            }
            await #expect(throws: IdentityError.invalidGrant("redirect_uri does not match the authorization request")) {
                _ = try await id.grants.redeemCode(code, clientID: "c1", redirectURI: "https://evil.example/cb", verifier: verifier)
            }
            // failed attempts did not spend it: the real exchange still works, once
            let code3 = code
            let ok = try await id.grants.redeemCode(code3, clientID: "c1", redirectURI: "https://app.example/cb", verifier: verifier)
            #expect(ok.patientID == "p1" && ok.scope.text == "patient/*.rs offline_access")
            await #expect(throws: IdentityError.invalidGrant("The authorization code was already used; the tokens issued for it are revoked")) {
                _ = try await id.grants.redeemCode(code3, clientID: "c1", redirectURI: "https://app.example/cb", verifier: verifier)
            }
            let late = try await id.grants.createCode(approval("c1", verifier: verifier))
            await #expect(throws: IdentityError.invalidGrant("The authorization code has expired")) {
                _ = try await id.grants.redeemCode(late, clientID: "c1", redirectURI: "https://app.example/cb", verifier: verifier, now: Date().addingTimeInterval(600))
            }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func refreshRotationDetectsReuse(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let grant = GrantStore.RefreshGrant(family: "fam1", clientID: "c1", userID: "u1", scope: ScopeSet("patient/*.rs offline_access"), patientID: "p1")
            let first = try await id.grants.issueRefresh(grant)
            let (g2, second) = try await id.grants.rotate(first, clientID: "c1", scope: nil)
            #expect(g2.family == "fam1" && second != first)
            // narrowing is allowed, widening is not
            await #expect(throws: IdentityError.self) { _ = try await id.grants.rotate(second, clientID: "c1", scope: ScopeSet("user/*.cruds")) }
            let (_, third) = try await id.grants.rotate(second, clientID: "c1", scope: ScopeSet("patient/*.rs"))
            // replaying an old token revokes the whole family, including the newest token
            await #expect(throws: IdentityError.invalidGrant("The refresh token was already used; every token of this grant is now revoked")) {
                _ = try await id.grants.rotate(first, clientID: "c1", scope: nil)
            }
            await #expect(throws: IdentityError.invalidGrant("The refresh token has been revoked")) { _ = try await id.grants.rotate(third, clientID: "c1", scope: nil) }
            #expect(try await id.grants.introspectRefresh(third) == nil)
        }
    }
}

@Suite struct ClientTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func secretsAndPrivateKeyJWT(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let (backend, secret) = try await id.clients.create(name: "lab feed", scopes: "system/Observation.cruds", redirectURIs: [], isPublic: false, jwks: nil)
            #expect(backend.kind == .backend)
            let s = try #require(secret)
            let aud = ["https://hh.example/oauth/token"]
            #expect(try await id.clients.authenticate(.init(clientID: backend.id, secret: s), audience: aud).id == backend.id)
            await #expect(throws: IdentityError.self) { _ = try await id.clients.authenticate(.init(clientID: backend.id, secret: s + "x"), audience: aud) }
            await #expect(throws: IdentityError.self) { _ = try await id.clients.authenticate(.init(clientID: backend.id), audience: aud) }
            // a backend client may not hold user scopes; an app needs a safe redirect URI
            await #expect(throws: IdentityError.self) { _ = try await id.clients.create(name: "x", scopes: "user/*.rs", redirectURIs: [], isPublic: false, jwks: nil) }
            await #expect(throws: IdentityError.self) {
                _ = try await id.clients.create(name: "x", scopes: "user/*.rs", redirectURIs: ["http://evil.example/cb"], isPublic: true, jwks: nil)
            }

            let key = P256.Signing.PrivateKey()
            let jwk = JWK.publicJSON(key.publicKey, kid: "app-key")
            let jwks = JSON.object(["keys": [jwk]]).serializedString()
            let (asym, none) = try await id.clients.create(name: "bulk export", scopes: "system/*.rs", redirectURIs: [], isPublic: false, jwks: jwks)
            #expect(none == nil)
            func assertion(jti: String, aud: String = aud[0], exp: Int64 = Int64(Date().timeIntervalSince1970) + 120) throws -> String {
                try JWT.sign(JWT.Claims(iss: asym.id, sub: asym.id, aud: .init([aud]), exp: exp, iat: nil, jti: jti), key: key, kid: "app-key")
            }
            let creds = { (a: String) in ClientStore.Credentials(assertionType: ClientStore.assertionType, assertion: a) }
            #expect(try await id.clients.authenticate(creds(try assertion(jti: "a1")), audience: aud).id == asym.id)
            await #expect(throws: IdentityError.invalidClient("The client assertion was already used (jti replay)")) {
                _ = try await id.clients.authenticate(creds(try assertion(jti: "a1")), audience: aud)
            }
            await #expect(throws: IdentityError.self) { _ = try await id.clients.authenticate(creds(try assertion(jti: "a2", aud: "https://other/token")), audience: aud) }
            await #expect(throws: IdentityError.self) { _ = try await id.clients.authenticate(creds(try assertion(jti: "a3", exp: 10)), audience: aud) }
            let stranger = try JWT.sign(
                JWT.Claims(iss: asym.id, sub: asym.id, aud: .init(aud), exp: Int64(Date().timeIntervalSince1970) + 60, iat: nil, jti: "a4"),
                key: P256.Signing.PrivateKey(), kid: "app-key")
            await #expect(throws: IdentityError.self) { _ = try await id.clients.authenticate(creds(stranger), audience: aud) }
            // revoked clients are refused
            _ = try await id.clients.revoke(backend.id)
            await #expect(throws: IdentityError.self) { _ = try await id.clients.authenticate(.init(clientID: backend.id, secret: s), audience: aud) }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func accessTokensVerifyAndKeysRotate(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, db, keyring in
            let grant = TokenService.Grant(subject: "u1", role: .practitioner, scope: ScopeSet("user/*.rs"), clientID: "c1", patient: nil, fhirUser: "Practitioner/7", family: nil)
            let (token, _) = try id.tokens.issue(grant, issuer: "https://hh", fhirBase: "https://hh/fhir")
            let p = try await id.tokens.verify(token, audiences: ["https://hh/fhir"], issuer: "https://hh")
            #expect(p.role == .practitioner && p.practitioner == "7" && p.reference == "Practitioner/7" && p.clientID == "c1")
            await #expect(throws: IdentityError.invalidGrant("The token is for another audience")) {
                _ = try await id.tokens.verify(token, audiences: ["https://other/fhir"], issuer: "https://hh")
            }
            await #expect(throws: IdentityError.invalidGrant("The token was issued by another server")) {
                _ = try await id.tokens.verify(token, audiences: ["https://hh/fhir"], issuer: "https://evil")
            }
            await #expect(throws: IdentityError.invalidGrant("The token has expired")) {
                _ = try await id.tokens.verify(token, audiences: ["https://hh/fhir"], issuer: "https://hh", now: Date().addingTimeInterval(400))
            }
            // rotation: the new key signs, the old one stays in the JWKS so its tokens still verify
            let oldKID = id.tokens.keys.keys.currentKID
            let newKID = try await SigningKeys.rotate(database: db, keyring: keyring)
            let rotated = TokenService(keys: try await SigningKeys.open(database: db, keyring: keyring), database: db)
            #expect(rotated.keys.keys.currentKID == newKID)
            #expect(Set(rotated.keys.jwks()["keys"]!.asArray.compactMap { $0["kid"]?.stringValue }) == [oldKID, newKID])
            #expect(try await rotated.verify(token, audiences: ["https://hh/fhir"], issuer: "https://hh").subject == "u1")
            // a server still on the old keys learns the new kid when a token names it
            let (fresh, _) = try rotated.issue(grant, issuer: "https://hh", fhirBase: "https://hh/fhir")
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await id.tokens.verify(fresh, audiences: ["https://hh/fhir"], issuer: "https://hh").subject == "u1")
            // two rotations retire the first key: its tokens no longer verify
            try await SigningKeys.rotate(database: db, keyring: keyring)
            let twice = TokenService(keys: try await SigningKeys.open(database: db, keyring: keyring), database: db)
            #expect(!twice.keys.jwks()["keys"]!.asArray.contains { $0["kid"]?.stringValue == oldKID })
            await #expect(throws: IdentityError.self) { _ = try await twice.verify(token, audiences: ["https://hh/fhir"], issuer: "https://hh") }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func revokedAccessTokensAndFamiliesAreRefused(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let grant = TokenService.Grant(subject: "u1", role: .patient, scope: ScopeSet("patient/*.rs"), clientID: "c1", patient: "p1", fhirUser: "Patient/p1", family: "fam9")
            let (a, _) = try id.tokens.issue(grant, issuer: "https://hh", fhirBase: "https://hh/fhir")
            let (b, _) = try id.tokens.issue(grant, issuer: "https://hh", fhirBase: "https://hh/fhir")
            #expect(try await id.tokens.verify(a, audiences: ["https://hh/fhir"], issuer: "https://hh").patient == "p1")
            let (jti, exp, _) = try #require(id.tokens.unverifiedIDs(a))
            try await id.tokens.revoke(id: jti, family: false, until: exp)
            await #expect(throws: IdentityError.invalidGrant("The token has been revoked")) {
                _ = try await id.tokens.verify(a, audiences: ["https://hh/fhir"], issuer: "https://hh")
            }
            #expect(try await id.tokens.verify(b, audiences: ["https://hh/fhir"], issuer: "https://hh").subject == "u1")
            try await id.tokens.revoke(id: "fam9", family: true, until: exp)
            await #expect(throws: IdentityError.invalidGrant("The token has been revoked")) {
                _ = try await id.tokens.verify(b, audiences: ["https://hh/fhir"], issuer: "https://hh")
            }
        }
    }
}

@Suite struct PinnedClockTests {
    struct Fixed: WallClock { let date: Date; func now() -> Date { date } }

    /// Time comes from the task's clock, so a test can make a session old without waiting.
    @Test(arguments: TestDatabaseKind.allCases)
    func aSessionIdleForLongerThanTheTimeoutIsGone(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let (cookie, _) = try await Now.$clock.withValue(Fixed(date: start)) { try await id.sessions.create() }
            let soon = try await Now.$clock.withValue(Fixed(date: start + 60)) { try await id.sessions.load(cookie) }
            #expect(soon != nil)
            let later = try await Now.$clock.withValue(Fixed(date: start + 60 + 16 * 60)) { try await id.sessions.load(cookie) }
            #expect(later == nil)
        }
    }
}

@Suite struct ProxyStoreTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func proxiesAreGivenWithinTheRulesAndTakenBackWithTheSessionsChoice(_ kind: TestDatabaseKind) async throws {
        try await withIdentity(kind) { id, _ in
            let carer = try await id.accounts.create(email: "carer@example.org", role: .patient, password: strongPassword, patientID: nil, practitionerID: nil, caregiver: true)
            let own = try await id.accounts.create(email: "ana@example.org", role: .patient, password: strongPassword, patientID: "p1", practitionerID: nil)
            let nurse = try await id.accounts.create(email: "nurse@example.org", role: .practitioner, password: strongPassword, patientID: nil, practitionerID: "x1")
            // a caregiver's account exists only by invitation; `users create` still needs the record
            await #expect(throws: IdentityError.self) {
                try await id.accounts.create(email: "b@example.org", role: .patient, password: strongPassword, patientID: nil, practitionerID: nil)
            }
            let proxy = try await id.proxies.grant(user: carer, patientID: "p1", relatedPersonID: "rp1", grantedBy: "Patient/p1")
            #expect(proxy.reference == "RelatedPerson/rp1" && proxy.email == "carer@example.org")
            _ = try await id.proxies.grant(user: carer, patientID: "p2", relatedPersonID: "rp2", grantedBy: "Practitioner/x1")
            for (user, patient) in [(carer, "p1"), (own, "p1"), (nurse, "p3")] {
                await #expect(throws: IdentityError.self, "\(user.email) \(patient)") {
                    try await id.proxies.grant(user: user, patientID: patient, relatedPersonID: "rp-\(patient)-\(user.id)", grantedBy: "Patient/\(patient)")
                }
            }
            #expect(try await id.proxies.records(of: carer.id).map(\.patientID) == ["p1", "p2"])
            #expect(try await id.proxies.proxies(of: "p1").map(\.userID) == [carer.id])
            // at most `limit` people per record
            for n in 1..<ProxyStore.limit {
                let u = try await id.accounts.create(email: "c\(n)@example.org", role: .patient, password: strongPassword, patientID: nil, practitionerID: nil, caregiver: true)
                _ = try await id.proxies.grant(user: u, patientID: "p1", relatedPersonID: "rp1-\(n)", grantedBy: "Patient/p1")
            }
            let late = try await id.accounts.create(email: "late@example.org", role: .patient, password: strongPassword, patientID: nil, practitionerID: nil, caregiver: true)
            await #expect(throws: IdentityError.self) {
                try await id.proxies.grant(user: late, patientID: "p1", relatedPersonID: "rp-late", grantedBy: "Patient/p1")
            }
            // a session acting for p1 falls back when the access is taken back
            let (cookie, session) = try await id.sessions.create(userID: carer.id)
            try await id.sessions.act(session, for: "p1")
            #expect(try await id.sessions.load(cookie)?.actingFor == "p1")
            #expect(try await id.proxies.revoke(patientID: "p1", relatedPersonID: "rp1")?.userID == carer.id)
            #expect(try await id.proxies.revoke(patientID: "p1", relatedPersonID: "rp1") == nil)
            #expect(try await id.proxies.revoke(patientID: "p2", relatedPersonID: "rp1") == nil)
            #expect(try await id.sessions.load(cookie)?.actingFor == nil)
            #expect(try await id.proxies.records(of: carer.id).map(\.patientID) == ["p2"])
        }
    }
}
