import Crypto
import Foundation
import Kernel
import SQLKit
import Storage

/// Authorization codes and refresh tokens, stored as SHA-256 hashes. A code is redeemed once;
/// a refresh token is used once and replaced (rotation). Presenting a used code or a used
/// refresh token revokes everything issued from that grant (its family), since one of the two
/// presenters is an attacker.
package struct GrantStore: Sendable {
    let database: any Database
    let tokens: TokenService
    package static let codeLifetime: Int64 = 120
    package static let refreshLifetime: Int64 = 30 * 24 * 3600

    package init(database: any Database, tokens: TokenService) {
        self.database = database
        self.tokens = tokens
    }

    /// What the user approved at the authorize endpoint.
    package struct Approval: Sendable, Equatable {
        package var clientID: String
        package var userID: String
        package var redirectURI: String
        package var scope: ScopeSet
        package var patientID: String?
        package var codeChallenge: String
        package var nonce: String?
        package var family: String

        package init(
            clientID: String, userID: String, redirectURI: String, scope: ScopeSet, patientID: String?, codeChallenge: String, nonce: String?,
            family: String = Secrets.token(bytes: 12)
        ) {
            self.clientID = clientID
            self.userID = userID
            self.redirectURI = redirectURI
            self.scope = scope
            self.patientID = patientID
            self.codeChallenge = codeChallenge
            self.nonce = nonce
            self.family = family
        }
    }

    package func createCode(_ a: Approval, now: Date = Now.date) async throws -> String {
        let code = Secrets.token(bytes: 32)
        let expires = Int64(now.timeIntervalSince1970) + Self.codeLifetime
        try await database.transaction { tx in
            try await tx.sql.raw(
                """
                INSERT INTO hh_oauth_code (code_hash, client_id, user_id, redirect_uri, scope, patient_id, challenge, nonce, expires_at, family)
                VALUES (\(bind: Secrets.hash(code)), \(bind: a.clientID), \(bind: a.userID), \(bind: a.redirectURI), \(bind: a.scope.text),
                        \(bind: a.patientID), \(bind: a.codeChallenge), \(bind: a.nonce), \(bind: expires), \(bind: a.family))
                """
            ).run()
        }
        return code
    }

    /// PKCE S256 (RFC 7636): base64url(SHA-256(verifier)) must equal the challenge.
    package static func challenge(for verifier: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
    }

    static func isValidVerifier(_ v: String) -> Bool {
        (43...128).contains(v.utf8.count)
            && v.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
            }
    }

    /// Redeems a code for the client that got it. A second redemption revokes the grant.
    package func redeemCode(_ code: String, clientID: String, redirectURI: String?, verifier: String?, now: Date = Now.date) async throws -> Approval {
        let nowSeconds = Int64(now.timeIntervalSince1970)
        let result: Result<Approval, IdentityError> = try await database.transaction { tx in
            try await tx.lock("code:\(Secrets.hash(code))")
            guard
                let row = try await tx.sql.raw(
                    "SELECT client_id, user_id, redirect_uri, scope, patient_id, challenge, nonce, expires_at, used, family FROM hh_oauth_code WHERE code_hash = \(bind: Secrets.hash(code))"
                ).first()
            else {
                return .failure(.invalidGrant("Unknown authorization code"))
            }
            let approval = Approval(
                clientID: try row.decode(column: "client_id", as: String.self), userID: try row.decode(column: "user_id", as: String.self),
                redirectURI: try row.decode(column: "redirect_uri", as: String.self), scope: ScopeSet(try row.decode(column: "scope", as: String.self)),
                patientID: try row.decode(column: "patient_id", as: String?.self), codeChallenge: try row.decode(column: "challenge", as: String.self),
                nonce: try row.decode(column: "nonce", as: String?.self), family: try row.decode(column: "family", as: String.self))
            // Only the client the code was issued to can use it, spend it or trigger the
            // revocation of its tokens: another application presenting a stolen code changes
            // nothing for the real one.
            if approval.clientID != clientID { return .failure(.invalidGrant("The authorization code was issued to another client")) }
            if try row.decode(column: "used", as: Int.self) != 0 {
                try await revokeFamily(approval.family, in: tx)
                return .failure(.invalidGrant("The authorization code was already used; the tokens issued for it are revoked"))
            }
            if try row.decode(column: "expires_at", as: Int64.self) < nowSeconds { return .failure(.invalidGrant("The authorization code has expired")) }
            if redirectURI != approval.redirectURI { return .failure(.invalidGrant("redirect_uri does not match the authorization request")) }
            guard let verifier, Self.isValidVerifier(verifier) else { return .failure(.invalidGrant("code_verifier is missing or malformed (43-128 unreserved characters)")) }
            guard constantTimeEquals(Self.challenge(for: verifier), approval.codeChallenge) else {
                return .failure(.invalidGrant("code_verifier does not match the code_challenge (PKCE)"))
            }
            // Spent by the exchange that succeeds: a failed attempt (wrong verifier or redirect
            // URI) does not let whoever saw the code break the real sign-in. Guessing the
            // verifier is hopeless (43+ random characters) within the code's two minutes.
            try await tx.sql.raw("UPDATE hh_oauth_code SET used = 1 WHERE code_hash = \(bind: Secrets.hash(code))").run()
            return .success(approval)
        }
        return try result.get()
    }

    package struct RefreshGrant: Sendable {
        package var family: String
        package var clientID: String
        package var userID: String
        package var scope: ScopeSet
        package var patientID: String?

        package init(family: String, clientID: String, userID: String, scope: ScopeSet, patientID: String?) {
            self.family = family
            self.clientID = clientID
            self.userID = userID
            self.scope = scope
            self.patientID = patientID
        }
    }

    package func issueRefresh(_ g: RefreshGrant, now: Date = Now.date) async throws -> String {
        try await database.transaction { tx in try await insertRefresh(g, now: now, in: tx) }
    }

    func insertRefresh(_ g: RefreshGrant, now: Date, in tx: DatabaseTransaction) async throws -> String {
        let token = Secrets.token(bytes: 32)
        let nowSeconds = Int64(now.timeIntervalSince1970)
        try await tx.sql.raw(
            """
            INSERT INTO hh_refresh_token (token_hash, family, client_id, user_id, scope, patient_id, expires_at, created_at)
            VALUES (\(bind: Secrets.hash(token)), \(bind: g.family), \(bind: g.clientID), \(bind: g.userID), \(bind: g.scope.text),
                    \(bind: g.patientID), \(bind: nowSeconds + Self.refreshLifetime), \(bind: nowSeconds))
            """
        ).run()
        return token
    }

    /// Uses a refresh token: returns its grant (scope narrowed when asked) and its replacement.
    package func rotate(_ token: String, clientID: String, scope requested: ScopeSet?, now: Date = Now.date) async throws -> (RefreshGrant, String) {
        let nowSeconds = Int64(now.timeIntervalSince1970)
        let result: Result<(RefreshGrant, String), IdentityError> = try await database.transaction { tx in
            guard let row = try await tx.sql.raw("SELECT family FROM hh_refresh_token WHERE token_hash = \(bind: Secrets.hash(token))").first() else {
                return .failure(.invalidGrant("Unknown refresh token"))
            }
            let family = try row.decode(column: "family", as: String.self)
            try await tx.lock("refresh:\(family)")
            guard
                let r = try await tx.sql.raw(
                    "SELECT client_id, user_id, scope, patient_id, expires_at, used, revoked FROM hh_refresh_token WHERE token_hash = \(bind: Secrets.hash(token))"
                ).first()
            else {
                return .failure(.invalidGrant("Unknown refresh token"))
            }
            var grant = RefreshGrant(
                family: family, clientID: try r.decode(column: "client_id", as: String.self), userID: try r.decode(column: "user_id", as: String.self),
                scope: ScopeSet(try r.decode(column: "scope", as: String.self)), patientID: try r.decode(column: "patient_id", as: String?.self))
            if try r.decode(column: "revoked", as: Int.self) != 0 { return .failure(.invalidGrant("The refresh token has been revoked")) }
            if try r.decode(column: "used", as: Int.self) != 0 {
                try await revokeFamily(family, in: tx)
                return .failure(.invalidGrant("The refresh token was already used; every token of this grant is now revoked"))
            }
            if grant.clientID != clientID { return .failure(.invalidGrant("The refresh token was issued to another client")) }
            if try r.decode(column: "expires_at", as: Int64.self) < nowSeconds { return .failure(.invalidGrant("The refresh token has expired")) }
            if let requested {
                guard Set(requested.tokens).isSubset(of: Set(grant.scope.tokens)) else { return .failure(.invalidScope("A refresh may only narrow the scopes of the grant")) }
                grant.scope = requested
            }
            try await tx.sql.raw("UPDATE hh_refresh_token SET used = 1 WHERE token_hash = \(bind: Secrets.hash(token))").run()
            return .success((grant, try await insertRefresh(grant, now: now, in: tx)))
        }
        return try result.get()
    }

    /// An application a person authorised for lasting access (`offline_access`): the live
    /// refresh token of one grant.
    package struct Connection: Sendable, Equatable {
        package var family: String
        package var clientID: String
        package var scope: ScopeSet
        /// When it was authorised, and when it last renewed its access (seconds).
        package var since: Int64
        package var lastUsed: Int64
    }

    /// The applications `userID` authorised that still hold a grant, newest first.
    package func connections(userID: String, now: Date = Now.date) async throws -> [Connection] {
        let nowSeconds = Int64(now.timeIntervalSince1970)
        return try await database.read { db in
            try await db.raw(
                """
                SELECT t.family, t.client_id, t.scope, t.created_at,
                       (SELECT MIN(f.created_at) FROM hh_refresh_token f WHERE f.family = t.family) AS since
                FROM hh_refresh_token t
                WHERE t.user_id = \(bind: userID) AND t.used = 0 AND t.revoked = 0 AND t.expires_at > \(bind: nowSeconds)
                ORDER BY t.created_at DESC
                """
            ).all().map { r in
                Connection(
                    family: try r.decode(column: "family", as: String.self), clientID: try r.decode(column: "client_id", as: String.self),
                    scope: ScopeSet(try r.decode(column: "scope", as: String.self)), since: try r.decode(column: "since", as: Int64.self),
                    lastUsed: try r.decode(column: "created_at", as: Int64.self))
            }
        }
    }

    /// Ends one of `userID`'s grants: its refresh tokens and, within a second, its access
    /// tokens. Returns nil when the grant is not theirs (or unknown), else its application.
    package func revokeConnection(family: String, userID: String) async throws -> String? {
        let client: String? = try await database.transaction { tx in
            guard
                let row = try await tx.sql.raw(
                    "SELECT client_id FROM hh_refresh_token WHERE family = \(bind: family) AND user_id = \(bind: userID) AND revoked = 0"
                ).first()
            else { return nil }
            try await revokeFamily(family, in: tx)
            return try row.decode(column: "client_id", as: String.self)
        }
        if client != nil {
            try await tokens.revoke(id: family, family: true, until: Int64(Now.date.timeIntervalSince1970) + tokens.accessTokenLifetime + 60)
        }
        return client
    }

    func revokeFamily(_ family: String, in tx: DatabaseTransaction) async throws {
        try await tx.sql.raw("UPDATE hh_refresh_token SET revoked = 1 WHERE family = \(bind: family)").run()
        let until = Int64(Now.date.timeIntervalSince1970) + tokens.accessTokenLifetime + 60
        try await tx.sql.raw("DELETE FROM hh_revoked_token WHERE jti = \(bind: family)").run()
        try await tx.sql.raw("INSERT INTO hh_revoked_token (jti, family, expires_at) VALUES (\(bind: family), \(bind: family), \(bind: until))").run()
    }

    /// RFC 7009: revokes a refresh token's whole grant, or one access token. Unknown tokens are
    /// not an error (the endpoint answers 200 either way).
    package func revoke(_ token: String, clientID: String) async throws {
        if let row = try await database.read({ db in
            try await db.raw("SELECT family, client_id FROM hh_refresh_token WHERE token_hash = \(bind: Secrets.hash(token))").first()
        }) {
            guard try row.decode(column: "client_id", as: String.self) == clientID else { return }
            let family = try row.decode(column: "family", as: String.self)
            try await database.transaction { tx in try await revokeFamily(family, in: tx) }
            try await tokens.revoke(id: family, family: true, until: Int64(Now.date.timeIntervalSince1970) + tokens.accessTokenLifetime + 60)
            return
        }
        // RFC 7009 §2.1: a client revokes only tokens issued to it.
        if let (jti, exp, owner) = tokens.unverifiedIDs(token), owner == clientID {
            try await tokens.revoke(id: jti, family: false, until: exp)
        }
    }

    /// RFC 7662: whether a refresh token is active, and its grant.
    package func introspectRefresh(_ token: String, now: Date = Now.date) async throws -> (RefreshGrant, exp: Int64)? {
        try await database.read { db in
            guard
                let r = try await db.raw(
                    "SELECT family, client_id, user_id, scope, patient_id, expires_at, used, revoked FROM hh_refresh_token WHERE token_hash = \(bind: Secrets.hash(token))"
                ).first(),
                try r.decode(column: "used", as: Int.self) == 0, try r.decode(column: "revoked", as: Int.self) == 0
            else { return nil }
            let exp = try r.decode(column: "expires_at", as: Int64.self)
            guard exp >= Int64(now.timeIntervalSince1970) else { return nil }
            return (
                RefreshGrant(
                    family: try r.decode(column: "family", as: String.self), clientID: try r.decode(column: "client_id", as: String.self),
                    userID: try r.decode(column: "user_id", as: String.self), scope: ScopeSet(try r.decode(column: "scope", as: String.self)),
                    patientID: try r.decode(column: "patient_id", as: String?.self)), exp
            )
        }
    }
}
