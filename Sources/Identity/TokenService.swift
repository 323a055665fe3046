import Foundation
import Kernel
import SQLKit
import Storage
import Synchronization

/// Issues and verifies access tokens: ES256 JWTs with a `kid`, short-lived, verified without a
/// database round trip (signature, expiry, audience, issuer), except for a revocation list that
/// is cached and refreshed every half second. The list holds token ids, refresh families and
/// subjects (a disabled account: every token it was issued before that moment).
package final class TokenService: Sendable {
    package let keys: SigningKeys
    let database: any Database
    /// Seconds an access token lives.
    package let accessTokenLifetime: Int64
    private let revoked: Mutex<Revocations>
    private let cache: Mutex<[String: Verified]>

    struct Verified: Sendable {
        let principal: Principal
        let exp: Int64
        let issuer: String
        let audiences: [String]
        let jti: String
        let family: String?
        let issuedAt: Int64
    }

    struct Revocations: Sendable {
        var ids: Set<String> = []
        /// Subject -> the second from which its earlier tokens are revoked.
        var subjects: [String: Int64] = [:]
        var loadedAt = Date.distantPast
        /// Revoked here recently, kept across a refresh that may have missed them.
        var local: [String: Date] = [:]
    }

    static let revocationRefresh: TimeInterval = 0.5
    /// Subject revocations are rows `subject:<id>@<seconds>` of `hh_revoked_token`, kept a day
    /// (longer than any access token lives).
    static let subjectPrefix = "subject:"
    static let subjectRevocationLifetime: Int64 = 86_400
    static let cacheLimit = 10_000

    package init(keys: SigningKeys, database: any Database, accessTokenLifetime: Int64 = 300) {
        self.keys = keys
        self.database = database
        self.accessTokenLifetime = accessTokenLifetime
        self.revoked = Mutex(Revocations())
        self.cache = Mutex([:])
    }

    /// What an access token says about its bearer.
    package struct Grant: Sendable {
        package var subject: String
        package var role: Role
        package var scope: ScopeSet
        package var clientID: String
        package var patient: String?
        /// `Practitioner/7`, `Patient/3`: the user's FHIR resource.
        package var fhirUser: String?
        /// The refresh-token family the token descends from, so reuse detection revokes it too.
        package var family: String?

        package init(subject: String, role: Role, scope: ScopeSet, clientID: String, patient: String?, fhirUser: String?, family: String?) {
            self.subject = subject
            self.role = role
            self.scope = scope
            self.clientID = clientID
            self.patient = patient
            self.fhirUser = fhirUser
            self.family = family
        }
    }

    /// `fhirBase`: the FHIR base URL the token is for (its audience); `issuer`: this server.
    package func issue(_ grant: Grant, issuer: String, fhirBase: String, now: Date = Now.date) throws -> (token: String, expiresIn: Int64) {
        let iat = Int64(now.timeIntervalSince1970)
        var claims = JWT.Claims(iss: issuer, sub: grant.subject, aud: .init([fhirBase]), exp: iat + accessTokenLifetime, iat: iat, jti: Secrets.token(bytes: 16))
        claims.scope = grant.scope.text
        claims.client_id = grant.clientID
        claims.role = grant.role.rawValue
        claims.patient = grant.patient
        claims.fhirUser = grant.fhirUser.map { "\(fhirBase)/\($0)" }
        claims.fam = grant.family
        let keySet = keys.keys
        return (try JWT.sign(claims, key: keySet.current, kid: keySet.currentKID, typ: "at+jwt"), accessTokenLifetime)
    }

    /// An OpenID Connect id token for the user.
    package func idToken(subject: String, fhirUser: String?, clientID: String, nonce: String?, issuer: String, fhirBase: String, now: Date = Now.date) throws -> String {
        let iat = Int64(now.timeIntervalSince1970)
        var claims = JWT.Claims(iss: issuer, sub: subject, aud: .init([clientID]), exp: iat + 3600, iat: iat, jti: Secrets.token(bytes: 16))
        claims.fhirUser = fhirUser.map { "\(fhirBase)/\($0)" }
        claims.nonce = nonce
        let keySet = keys.keys
        return try JWT.sign(claims, key: keySet.current, kid: keySet.currentKID)
    }

    /// Verifies a bearer token and returns who it stands for. `audiences`: the FHIR base URLs
    /// this server answers to.
    package func verify(_ token: String, audiences: [String], issuer: String, now: Date = Now.date) async throws(IdentityError) -> Principal {
        let nowSeconds = Int64(now.timeIntervalSince1970)
        await refreshRevocations()
        await keys.refreshIfStale()  // a key rotated by the CLI or another instance, within a minute
        if let hit = cache.withLock({ $0[token] }), hit.exp > nowSeconds, hit.issuer == issuer, hit.audiences.contains(where: audiences.contains) {
            if isRevoked(jti: hit.jti, family: hit.family, subject: hit.principal.subject, issuedAt: hit.issuedAt) { throw .invalidGrant("The token has been revoked") }
            return hit.principal
        }
        let parsed = try JWT.parse(token)
        guard parsed.header.alg == "ES256", let kid = parsed.header.kid else { throw .invalidGrant("The token is not signed by HealthHub") }
        var key = keys.keys.publicKeys.first { $0.kid == kid }?.key
        if key == nil {
            await keys.refreshIfStale(force: true)
            key = keys.keys.publicKeys.first { $0.kid == kid }?.key
        }
        guard let key, JWT.verify(parsed, with: JWK(kid: kid, publicKey: .p256(key))) else { throw .invalidGrant("The token signature does not verify") }
        let c = parsed.claims
        guard c.iss == issuer else { throw .invalidGrant("The token was issued by another server") }
        guard let exp = c.exp, exp > nowSeconds else { throw .invalidGrant("The token has expired") }
        if let nbf = c.nbf, nbf > nowSeconds + 30 { throw .invalidGrant("The token is not valid yet") }
        guard let aud = c.aud?.values, aud.contains(where: audiences.contains) else { throw .invalidGrant("The token is for another audience") }
        guard let sub = c.sub, let roleText = c.role, let role = Role(rawValue: roleText), let clientID = c.client_id, let jti = c.jti else {
            throw .invalidGrant("The token lacks HealthHub's claims")
        }
        let issuedAt = c.iat ?? 0
        if isRevoked(jti: jti, family: c.fam, subject: sub, issuedAt: issuedAt) { throw .invalidGrant("The token has been revoked") }
        let fhirUser = c.fhirUser.map { url in url.split(separator: "/").suffix(2).joined(separator: "/") }
        let reference: String
        switch role {
        case .system: reference = "Client/\(clientID)"
        case .patient, .practitioner: reference = fhirUser ?? "User/\(sub)"
        case .admin, .auditor: reference = "User/\(sub)"
        }
        let practitioner = fhirUser.flatMap { $0.hasPrefix("Practitioner/") ? String($0.dropFirst("Practitioner/".count)) : nil }
        let principal = Principal(
            subject: sub, role: role, reference: reference, patient: c.patient, practitioner: practitioner,
            clientID: clientID, scopes: ScopeSet(c.scope ?? ""))
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[token] = Verified(principal: principal, exp: exp, issuer: issuer, audiences: aud, jti: jti, family: c.fam, issuedAt: issuedAt)
        }
        return principal
    }

    private func isRevoked(jti: String, family: String?, subject: String, issuedAt: Int64) -> Bool {
        revoked.withLock { state in
            state.ids.contains(jti) || (family.map(state.ids.contains) ?? false) || state.subjects[subject].map { issuedAt <= $0 } ?? false
        }
    }

    /// Revokes every token issued to `subject` until now (an account disabled); tokens issued
    /// later, once it is enabled again, pass. In the caller's transaction.
    package static func revokeSubject(_ subject: String, in tx: DatabaseTransaction) async throws {
        let prefix = "\(subjectPrefix)\(subject)@"
        try await tx.sql.raw("DELETE FROM hh_revoked_token WHERE substr(jti, 1, \(unsafeRaw: String(prefix.utf8.count))) = \(bind: prefix)").run()
        let now = Int64(Now.date.timeIntervalSince1970)
        try await tx.sql.raw("INSERT INTO hh_revoked_token (jti, family, expires_at) VALUES (\(bind: prefix + String(now)), NULL, \(bind: now + subjectRevocationLifetime))").run()
    }

    /// Splits the list as stored into token ids and subject revocations.
    static func revocations(_ rows: [String]) -> (ids: Set<String>, subjects: [String: Int64]) {
        var ids = Set<String>()
        var subjects: [String: Int64] = [:]
        for row in rows {
            if row.hasPrefix(subjectPrefix), let at = row.lastIndex(of: "@"), let seconds = Int64(row[row.index(after: at)...]) {
                subjects[String(row[row.index(row.startIndex, offsetBy: subjectPrefix.count)..<at])] = seconds
            } else {
                ids.insert(row)
            }
        }
        return (ids, subjects)
    }

    /// Revokes one access token (by its jti) or every token of a refresh family.
    package func revoke(id: String, family: Bool, until expires: Int64) async throws {
        try await database.transaction { tx in
            try await tx.sql.raw("DELETE FROM hh_revoked_token WHERE expires_at < \(bind: Int64(Now.date.timeIntervalSince1970))").run()
            try await tx.sql.raw("DELETE FROM hh_revoked_token WHERE jti = \(bind: id)").run()
            try await tx.sql.raw("INSERT INTO hh_revoked_token (jti, family, expires_at) VALUES (\(bind: id), \(bind: family ? id : nil), \(bind: expires))").run()
        }
        revoked.withLock {
            $0.ids.insert(id)
            $0.local[id] = Now.date
        }
    }

    /// Reads the revocation list when it is older than two seconds (other instances revoke too).
    func refreshRevocations() async {
        let stale = revoked.withLock { state -> Bool in
            guard Now.date.timeIntervalSince(state.loadedAt) > Self.revocationRefresh else { return false }
            state.loadedAt = Now.date
            return true
        }
        guard stale else { return }
        let now = Int64(Now.date.timeIntervalSince1970)
        let started = Now.date
        if let ids = try? await database.read({ db in
            try await db.raw("SELECT jti FROM hh_revoked_token WHERE expires_at >= \(bind: now)").all().map { try $0.decode(column: "jti", as: String.self) }
        }) {
            // The fresh list, plus what was revoked here while it was being read (expired ids drop out).
            let (tokenIDs, subjects) = Self.revocations(ids)
            revoked.withLock { state in
                state.subjects = subjects
                state.ids = tokenIDs.union(state.local.filter { $0.value >= started.addingTimeInterval(-1) }.keys)
                state.local = state.local.filter { $0.value >= started.addingTimeInterval(-10) }
            }
        }
    }

    /// Parses an access token without trusting it (for revocation of a token by its holder).
    package func unverifiedIDs(_ token: String) -> (jti: String, exp: Int64, clientID: String?)? {
        guard let parsed = try? JWT.parse(token), let key = keys.keys.publicKeys.first(where: { $0.kid == parsed.header.kid })?.key,
            JWT.verify(parsed, with: JWK(kid: parsed.header.kid, publicKey: .p256(key))),
            let jti = parsed.claims.jti, let exp = parsed.claims.exp
        else { return nil }
        return (jti, exp, parsed.claims.client_id)
    }
}
