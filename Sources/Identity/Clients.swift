import Foundation
import Kernel
import SQLKit
import Storage

/// A registered OAuth client.
package struct OAuthClient: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// Client credentials only (SMART Backend Services): a secret or a JWK Set.
        case backend
        /// A SMART app that keeps a secret (authorization code).
        case confidential
        /// A SMART app that cannot keep a secret (authorization code with PKCE only).
        case `public`
    }

    package var id: String
    package var name: String
    package var kind: Kind
    package var scopes: ScopeSet
    package var redirectURIs: [String]
    /// The client's public keys for `private_key_jwt`, as a JWK Set document.
    package var jwks: String?
    package var revoked: Bool
    package var createdAt: Int64
}

/// Registration, listing, revocation and authentication of OAuth clients.
package struct ClientStore: Sendable {
    let database: any Database

    package init(database: any Database) { self.database = database }

    package static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// Registers a client. Returns the secret (shown once) unless the client is public or
    /// authenticates with a JWK Set.
    package func create(name: String, scopes: String, redirectURIs: [String], isPublic: Bool, jwks: String?) async throws -> (OAuthClient, secret: String?) {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200 else { throw IdentityError.rejected("A client needs a name of at most 200 characters") }
        let scopeSet = ScopeSet(scopes)
        guard !scopeSet.tokens.isEmpty else { throw IdentityError.rejected("A client needs at least one scope") }
        let allowed: Set<String> = ["openid", "fhirUser", "profile", "offline_access", "online_access", "launch", "launch/patient"]
        for token in scopeSet.tokens where ResourceScope(token) == nil && !allowed.contains(token) {
            throw IdentityError.rejected(
                "'\(token.prefix(80))' is not a scope HealthHub grants (e.g. patient/Observation.rs, user/*.cruds, system/*.rs, launch/patient, openid, fhirUser, offline_access)")
        }
        for uri in redirectURIs {
            guard let url = URL(string: uri), let scheme = url.scheme, url.fragment == nil,
                scheme == "https" || (scheme == "http" && ["localhost", "127.0.0.1", "[::1]", "::1"].contains(url.host ?? ""))
                    || !["http", "https"].contains(scheme) && scheme.contains(".")
            else {
                throw IdentityError.rejected(
                    "'\(uri.prefix(120))' is not an acceptable redirect URI (https, http on loopback, or a private-use scheme like com.example.app; no fragment)")
            }
        }
        if isPublic && redirectURIs.isEmpty { throw IdentityError.rejected("--public is for SMART apps: give a --redirect-uri") }
        if isPublic && jwks != nil { throw IdentityError.rejected("A public client has no keys") }
        let kind: OAuthClient.Kind = redirectURIs.isEmpty ? .backend : isPublic ? .public : .confidential
        if kind == .backend {
            for s in scopeSet.resources where s.context != .system {
                throw IdentityError.rejected("A backend client acts for no user or patient: its scopes are system/... (got \(s.context.rawValue)/...)")
            }
        }
        if let jwks { _ = try JWK.set(Data(jwks.utf8)) }
        let secret: String? = kind == .public || jwks != nil ? nil : Secrets.token(bytes: 32)
        let client = OAuthClient(
            id: Secrets.token(bytes: 12), name: name, kind: kind, scopes: scopeSet, redirectURIs: redirectURIs,
            jwks: jwks, revoked: false, createdAt: Secrets.nowMillis())
        try await database.transaction { tx in
            try await tx.sql.raw(
                """
                INSERT INTO hh_oauth_client (id, name, kind, secret_hash, scopes, redirect_uris, jwks, created_at)
                VALUES (\(bind: client.id), \(bind: name), \(bind: kind.rawValue), \(bind: secret.map(Secrets.hash)), \(bind: scopeSet.text),
                        \(bind: redirectURIs.joined(separator: "\n")), \(bind: jwks), \(bind: client.createdAt))
                """
            ).run()
        }
        return (client, secret)
    }

    static func client(_ row: any SQLRow) throws -> OAuthClient {
        let uris = try row.decode(column: "redirect_uris", as: String.self)
        return OAuthClient(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            kind: OAuthClient.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .public,
            scopes: ScopeSet(try row.decode(column: "scopes", as: String.self)),
            redirectURIs: uris.isEmpty ? [] : uris.split(separator: "\n").map(String.init),
            jwks: try row.decode(column: "jwks", as: String?.self),
            revoked: try row.decode(column: "revoked", as: Int.self) != 0,
            createdAt: try row.decode(column: "created_at", as: Int64.self))
    }

    static let columns = "id, name, kind, scopes, redirect_uris, jwks, revoked, created_at, secret_hash"

    package func list() async throws -> [OAuthClient] {
        try await database.read { db in try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM hh_oauth_client ORDER BY created_at, id").all().map(Self.client) }
    }

    package func find(_ id: String) async throws -> OAuthClient? {
        try await database.read { db in try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM hh_oauth_client WHERE id = \(bind: id)").first().map(Self.client) }
    }

    /// Revokes a client and every refresh token issued to it.
    package func revoke(_ id: String) async throws -> OAuthClient {
        guard var client = try await find(id) else { throw IdentityError.notFound("No client has the id '\(id.prefix(64))'") }
        try await database.transaction { tx in
            try await tx.sql.raw("UPDATE hh_oauth_client SET revoked = 1 WHERE id = \(bind: id)").run()
            try await tx.sql.raw("UPDATE hh_refresh_token SET revoked = 1 WHERE client_id = \(bind: id)").run()
        }
        client.revoked = true
        return client
    }

    /// The credentials a token request presented.
    package struct Credentials: Sendable {
        package var clientID: String?
        package var secret: String?
        package var assertionType: String?
        package var assertion: String?

        package init(clientID: String? = nil, secret: String? = nil, assertionType: String? = nil, assertion: String? = nil) {
            self.clientID = clientID
            self.secret = secret
            self.assertionType = assertionType
            self.assertion = assertion
        }
    }

    /// Authenticates the client of a token, revocation or introspection request: a secret
    /// (basic or post), a signed assertion (`private_key_jwt`, RFC 7523), or, for public clients,
    /// the client id alone. `audience` is the token endpoint URL the assertion must name.
    static let authenticationFailed = "Client authentication failed"

    package func authenticate(_ credentials: Credentials, audience: [String], now: Date = Now.date) async throws -> OAuthClient {
        var clientID = credentials.clientID
        var parsedAssertion: JWT.Parsed?
        if let assertion = credentials.assertion {
            guard credentials.assertionType == Self.assertionType else { throw IdentityError.invalidClient("client_assertion_type must be \(Self.assertionType)") }
            let parsed: JWT.Parsed
            do { parsed = try JWT.parse(assertion) } catch { throw IdentityError.invalidClient(error.message) }
            guard let iss = parsed.claims.iss, parsed.claims.sub == iss else { throw IdentityError.invalidClient("The client assertion's iss and sub must both be the client id") }
            if let clientID, clientID != iss { throw IdentityError.invalidClient("The client assertion is for another client") }
            clientID = iss
            parsedAssertion = parsed
        }
        guard let clientID, !clientID.isEmpty else { throw IdentityError.invalidClient("Client authentication is required") }
        let row: (OAuthClient, String?)? = try await database.read { db in
            guard let r = try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM hh_oauth_client WHERE id = \(bind: clientID)").first() else { return nil }
            return (try Self.client(r), try r.decode(column: "secret_hash", as: String?.self))
        }
        // One answer for an unknown, revoked or wrongly authenticated client, after the same
        // work, so the endpoint does not tell which client ids exist.
        // A request that only names a client (a public client's) and names an unknown one goes on
        // as a public client that holds nothing: it then fails exactly where a registered public
        // client with a bad code or token fails, so client ids cannot be probed that way.
        if row == nil, credentials.secret == nil, parsedAssertion == nil {
            return OAuthClient(id: clientID, name: "", kind: .public, scopes: ScopeSet(""), redirectURIs: [], jwks: nil, revoked: false, createdAt: 0)
        }
        guard let (client, secretHash) = row, !client.revoked else {
            if let secret = credentials.secret { _ = constantTimeEquals(Secrets.hash(secret), Secrets.hash(clientID)) }
            throw IdentityError.invalidClient(Self.authenticationFailed)
        }
        if let parsed = parsedAssertion {
            guard let jwks = client.jwks, let keys = try? JWK.set(Data(jwks.utf8)) else {
                throw IdentityError.invalidClient("This client has no registered keys for private_key_jwt")
            }
            let candidates = keys.filter { parsed.header.kid == nil || $0.kid == nil || $0.kid == parsed.header.kid }
            guard candidates.contains(where: { JWT.verify(parsed, with: $0) }) else { throw IdentityError.invalidClient("The client assertion's signature does not verify") }
            let nowSeconds = Int64(now.timeIntervalSince1970)
            guard let exp = parsed.claims.exp, exp > nowSeconds - 30, exp <= nowSeconds + 300 else {
                throw IdentityError.invalidClient("The client assertion is expired or lives longer than 5 minutes")
            }
            guard let aud = parsed.claims.aud?.values, aud.contains(where: audience.contains) else {
                throw IdentityError.invalidClient("The client assertion's aud must be the token endpoint URL")
            }
            guard let jti = parsed.claims.jti, !jti.isEmpty, jti.count <= 256 else { throw IdentityError.invalidClient("The client assertion needs a jti") }
            do {
                try await database.transaction { tx in
                    try await tx.sql.raw("DELETE FROM hh_client_assertion WHERE expires_at < \(bind: nowSeconds)").run()
                    try await tx.sql.raw("INSERT INTO hh_client_assertion (client_id, jti, expires_at) VALUES (\(bind: client.id), \(bind: jti), \(bind: exp + 30))").run()
                }
            } catch StorageError.conflict {
                throw IdentityError.invalidClient("The client assertion was already used (jti replay)")
            }
            return client
        }
        if let secret = credentials.secret {
            guard let secretHash, constantTimeEquals(Secrets.hash(secret), secretHash) else { throw IdentityError.invalidClient(Self.authenticationFailed) }
            return client
        }
        guard client.kind == .public else { throw IdentityError.invalidClient("This client must authenticate (client_secret_basic, client_secret_post or private_key_jwt)") }
        return client
    }
}
