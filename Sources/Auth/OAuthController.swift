import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import NIOCore
import Storage

/// OAuth 2.0 / SMART App Launch v2 endpoints that machines call: discovery, JWKS, token,
/// revocation and introspection. The pages people see (login, MFA, consent) are in
/// `LoginController`.
package struct OAuthController: Sendable {
    let identity: IdentityServices
    let care: any CareRelationships
    let urls: ServerURLs
    let audit: SecurityAudit

    package init(identity: IdentityServices, care: any CareRelationships, urls: ServerURLs, audit: SecurityAudit) {
        self.identity = identity
        self.care = care
        self.urls = urls
        self.audit = audit
    }

    static let scopesSupported = [
        "openid", "fhirUser", "launch/patient", "offline_access", "online_access",
        "patient/*.cruds", "patient/*.rs", "user/*.cruds", "user/*.rs", "system/*.cruds", "system/*.rs",
        "patient/*.read", "patient/*.write", "user/*.read", "user/*.write", "system/*.read", "system/*.write",
    ]

    package /// Discovery and the token endpoints are public: the token endpoints authenticate the client
    /// themselves (secret or signed assertion).
        func register(on routes: RouteTable)
    {
        let router = routes.publicRoutes
        router.get(".well-known/smart-configuration", use: smartConfiguration)
        router.get("fhir/.well-known/smart-configuration", use: smartConfiguration)
        router.get(".well-known/openid-configuration", use: openIDConfiguration)
        router.get("fhir/.well-known/openid-configuration", use: openIDConfiguration)
        router.get(".well-known/jwks.json") { _, _ in Response.json(identity.tokens.keys.jwks()) }
        router.post("oauth/token", use: token)
        router.post("oauth/revoke", use: revoke)
        router.post("oauth/introspect", use: introspect)
    }

    // MARK: Discovery

    func endpoints(_ request: Request) -> JSONObject {
        let issuer = urls.issuer(request)
        return [
            "issuer": .string(issuer),
            "jwks_uri": "\(issuer)/.well-known/jwks.json",
            "authorization_endpoint": "\(issuer)/oauth/authorize",
            "token_endpoint": "\(issuer)/oauth/token",
            "revocation_endpoint": "\(issuer)/oauth/revoke",
            "introspection_endpoint": "\(issuer)/oauth/introspect",
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "RS256", "RS384"],
            "scopes_supported": .strings(Self.scopesSupported),
        ]
    }

    @Sendable func smartConfiguration(_ request: Request, context: AppRequestContext) async throws -> Response {
        var doc = endpoints(request)
        doc["capabilities"] = [
            "launch-standalone", "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
            "context-standalone-patient", "permission-offline", "permission-online", "permission-patient", "permission-user",
            "permission-v1", "permission-v2", "sso-openid-connect", "authorize-post",
        ]
        return .json(.object(doc), headers: [.cacheControl: "max-age=300"])
    }

    @Sendable func openIDConfiguration(_ request: Request, context: AppRequestContext) async throws -> Response {
        var doc = endpoints(request)
        doc["subject_types_supported"] = ["public"]
        doc["id_token_signing_alg_values_supported"] = ["ES256"]
        doc["claims_supported"] = ["iss", "sub", "aud", "exp", "iat", "fhirUser", "nonce"]
        return .json(.object(doc))
    }

    // MARK: Token

    static func error(_ e: IdentityError, basic: Bool) -> Response {
        var headers = HTTPFields()
        headers[.pragma] = "no-cache"
        let status: HTTPResponse.Status
        switch e {
        case .invalidClient:
            status = .unauthorized
            if basic { headers[.wwwAuthenticate] = "Basic realm=\"HealthHub\"" }
        case .internalError: status = .internalServerError
        default: status = .badRequest
        }
        return .json(["error": .string(e.code), "error_description": .string(e.message)], status: status, headers: headers)
    }

    func credentials(_ request: Request, _ form: Form) throws(IdentityError) -> ClientStore.Credentials {
        var c = ClientStore.Credentials(
            clientID: form["client_id"], secret: form["client_secret"],
            assertionType: form["client_assertion_type"], assertion: form["client_assertion"])
        if let header = request.headers[.authorization], header.prefix(6).lowercased() == "basic " {
            guard c.secret == nil, c.assertion == nil else { throw .invalidRequest("Use one client authentication method") }
            guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                throw .invalidClient("Malformed Basic credentials")
            }
            // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
            let id = Form.unescape(String(text[..<colon]))
            let secret = Form.unescape(String(text[text.index(after: colon)...]))
            if let formID = c.clientID, formID != id { throw .invalidClient("client_id does not match the Basic credentials") }
            c.clientID = id
            c.secret = secret
        }
        for key in ["client_id", "grant_type", "code", "refresh_token", "code_verifier", "redirect_uri", "scope"] where form.duplicated.contains(key) {
            throw .invalidRequest("Parameter \(key) is repeated")
        }
        return c
    }

    @Sendable func token(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let basic = request.headers[.authorization]?.lowercased().hasPrefix("basic ") == true
        var clientID = form["client_id"]
        do {
            let creds = try credentials(request, form)
            clientID = creds.clientID
            let client = try await identity.clients.authenticate(creds, audience: ["\(urls.issuer(request))/oauth/token"])
            clientID = client.id
            let body: JSONObject
            switch form["grant_type"] {
            case "authorization_code": body = try await authorizationCode(form, client: client, request: request, context: context)
            case "refresh_token": body = try await refresh(form, client: client, request: request, context: context)
            case "client_credentials": body = try await clientCredentials(form, client: client, request: request, context: context)
            case nil: throw IdentityError.invalidRequest("grant_type is required")
            case let other?: throw IdentityError.unsupportedGrantType("grant_type '\(other.prefix(40))' is not supported")
            }
            return .json(.object(body), headers: [.pragma: "no-cache"])
        } catch let e as IdentityError {
            await audit.record("token", context, agent: clientID.map { "Client/\($0.prefix(64))" } ?? "anonymous", client: clientID, success: false, code: e.code)
            return Self.error(e, basic: basic)
        }
    }

    func authorizationCode(_ form: Form, client: OAuthClient, request: Request, context: AppRequestContext) async throws -> JSONObject {
        guard client.kind != .backend else { throw IdentityError.unauthorizedClient("A backend client uses client_credentials") }
        guard let code = form["code"] else { throw IdentityError.invalidRequest("code is required") }
        let approval = try await identity.grants.redeemCode(code, clientID: client.id, redirectURI: form["redirect_uri"], verifier: form["code_verifier"])
        guard let user = try await identity.accounts.find(id: approval.userID), !user.disabled else { throw IdentityError.invalidGrant("The account is disabled") }
        return try await issue(
            user: user, client: client, scope: approval.scope, patient: approval.patientID, family: approval.family,
            nonce: approval.nonce, refresh: nil, request: request, context: context)
    }

    func refresh(_ form: Form, client: OAuthClient, request: Request, context: AppRequestContext) async throws -> JSONObject {
        guard let token = form["refresh_token"] else { throw IdentityError.invalidRequest("refresh_token is required") }
        let (grant, next) = try await identity.grants.rotate(token, clientID: client.id, scope: form["scope"].map(ScopeSet.init))
        guard let user = try await identity.accounts.find(id: grant.userID), !user.disabled else { throw IdentityError.invalidGrant("The account is disabled") }
        // A patient chosen at launch must still be in the practitioner's care.
        if user.role == .practitioner, let patient = grant.patientID {
            let inCare = try await care.isInCare(patient: patient, practitioner: user.practitionerID ?? "")
            guard inCare else { throw IdentityError.invalidGrant("The patient of this grant is no longer in the practitioner's care") }
        }
        return try await issue(
            user: user, client: client, scope: grant.scope, patient: grant.patientID, family: grant.family,
            nonce: nil, refresh: next, request: request, context: context)
    }

    /// Access token (+ refresh token with offline_access/online_access, + id token with openid).
    func issue(
        user: User, client: OAuthClient, scope: ScopeSet, patient: String?, family: String, nonce: String?, refresh: String?,
        request: Request, context: AppRequestContext
    ) async throws -> JSONObject {
        let fhirUser: String? = user.role == .patient || user.role == .practitioner ? user.reference : nil
        let contextPatient = user.role == .patient ? user.patientID : patient
        let grant = TokenService.Grant(
            subject: user.id, role: user.role, scope: scope, clientID: client.id,
            patient: contextPatient, fhirUser: fhirUser, family: family)
        let (access, expiresIn) = try identity.tokens.issue(grant, issuer: urls.issuer(request), fhirBase: urls.fhirBase(request))
        var body: JSONObject = ["access_token": .string(access), "token_type": "Bearer", "expires_in": .int(expiresIn), "scope": .string(scope.text)]
        if let contextPatient, scope.contains("launch/patient") || user.role == .patient { body["patient"] = .string(contextPatient) }
        if scope.contains("offline_access") || scope.contains("online_access") {
            if let refresh {
                body["refresh_token"] = .string(refresh)
            } else {
                body["refresh_token"] = .string(
                    try await identity.grants.issueRefresh(.init(family: family, clientID: client.id, userID: user.id, scope: scope, patientID: patient)))
            }
        }
        if scope.contains("openid") {
            body["id_token"] = .string(
                try identity.tokens.idToken(
                    subject: user.id, fhirUser: scope.contains("fhirUser") ? fhirUser : nil, clientID: client.id,
                    nonce: nonce, issuer: urls.issuer(request), fhirBase: urls.fhirBase(request)))
        }
        await audit.record("token", context, agent: user.reference, role: user.role.rawValue, client: client.id, success: true)
        return body
    }

    func clientCredentials(_ form: Form, client: OAuthClient, request: Request, context: AppRequestContext) async throws -> JSONObject {
        // The same answer as a failed authentication: a public client's id says nothing more.
        guard client.kind == .backend else { throw IdentityError.invalidClient("Client authentication failed") }
        var scope = client.scopes
        if let requested = form["scope"] {
            let asked = ScopeSet(requested)
            let granted = asked.tokens.filter(client.scopes.contains)
            guard !granted.isEmpty else { throw IdentityError.invalidScope("None of the requested scopes is registered for this client") }
            scope = ScopeSet(tokens: granted)
        }
        let grant = TokenService.Grant(subject: client.id, role: .system, scope: scope, clientID: client.id, patient: nil, fhirUser: nil, family: nil)
        let (access, expiresIn) = try identity.tokens.issue(grant, issuer: urls.issuer(request), fhirBase: urls.fhirBase(request))
        await audit.record("token", context, agent: "Client/\(client.id)", role: Role.system.rawValue, client: client.id, success: true)
        return ["access_token": .string(access), "token_type": "Bearer", "expires_in": .int(expiresIn), "scope": .string(scope.text)]
    }

    // MARK: Revocation and introspection

    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let basic = request.headers[.authorization]?.lowercased().hasPrefix("basic ") == true
        do {
            let client = try await identity.clients.authenticate(
                try credentials(request, form), audience: ["\(urls.issuer(request))/oauth/token", "\(urls.issuer(request))/oauth/revoke"])
            guard let token = form["token"] else { throw IdentityError.invalidRequest("token is required") }
            try await identity.grants.revoke(token, clientID: client.id)
            await audit.record("token-revoke", context, agent: "Client/\(client.id)", client: client.id, success: true)
            return Response(status: .ok, headers: [.cacheControl: "no-store"])
        } catch let e as IdentityError {
            return Self.error(e, basic: basic)
        }
    }

    @Sendable func introspect(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let basic = request.headers[.authorization]?.lowercased().hasPrefix("basic ") == true
        do {
            let client = try await identity.clients.authenticate(
                try credentials(request, form), audience: ["\(urls.issuer(request))/oauth/token", "\(urls.issuer(request))/oauth/introspect"])
            guard client.kind != .public else { throw IdentityError.invalidClient("Public clients may not introspect") }
            guard let token = form["token"] else { throw IdentityError.invalidRequest("token is required") }
            // A client learns about its own tokens only: another application's token is
            // "inactive" to it, whoever holds it.
            if let p = try? await identity.tokens.verify(token, audiences: [urls.fhirBase(request)], issuer: urls.issuer(request)),
                p.clientID == client.id, let (_, exp, _) = identity.tokens.unverifiedIDs(token)
            {
                var body: JSONObject = [
                    "active": true, "scope": .string(p.scopes.text), "client_id": .string(p.clientID ?? ""), "sub": .string(p.subject),
                    "exp": .int(exp), "token_type": "Bearer", "iss": .string(urls.issuer(request)), "aud": .string(urls.fhirBase(request)),
                ]
                if let patient = p.patient { body["patient"] = .string(patient) }
                if p.role == .patient || p.role == .practitioner { body["fhirUser"] = "\(urls.fhirBase(request))/\(p.reference)" }
                return .json(.object(body))
            }
            if let (grant, exp) = try await identity.grants.introspectRefresh(token), grant.clientID == client.id {
                return .json([
                    "active": true, "scope": .string(grant.scope.text), "client_id": .string(grant.clientID), "sub": .string(grant.userID), "exp": .int(exp),
                    "token_type": "refresh_token",
                ])
            }
            return .json(["active": false])
        } catch let e as IdentityError {
            return Self.error(e, basic: basic)
        }
    }
}
