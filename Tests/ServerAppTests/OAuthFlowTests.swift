import Crypto
import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// A browser's part of the flow: a cookie and the forms of the pages.
struct Browser {
    let s: TestServer
    var cookie: String?

    func form(_ pairs: [(String, String)]) -> String { QueryString.encode(pairs) }

    mutating func send(_ method: HTTPRequest.Method, _ path: String, form pairs: [(String, String)]? = nil) async throws -> TestServer.Reply {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        if pairs != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let reply = try await s.request(method, path, body: pairs.map(form), headers: headers, as: .anonymous)
        // (the session cookie only: a page may also set its language cookie)
        for set in reply.headers[values: .setCookie] where set.hasPrefix("hh_session=") {
            let value = set.prefix { $0 != ";" }
            cookie = value.hasSuffix("=") ? nil : String(value)
        }
        return reply
    }

    static func field(_ name: String, in html: String) -> String? {
        guard let r = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
    }

    static func query(_ location: String) -> [String: String] {
        Dictionary(QueryString.decode(String(location.split(separator: "?", maxSplits: 1).last ?? "")), uniquingKeysWith: { $1 })
    }
}

@Suite struct OAuthFlowTests {
    static let redirect = "https://app.example/callback"

    func tokenRequest(_ s: TestServer, _ pairs: [(String, String)], basic: (String, String)? = nil) async throws -> TestServer.Reply {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let (id, secret) = basic { headers[.authorization] = "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString() }
        return try await s.request(.post, "/oauth/token", body: QueryString.encode(pairs), headers: headers, as: .anonymous)
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func authorizationCodeWithPKCEAndMFAEnrolment(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let (client, secret) = try await s.services.identity.clients.create(
                name: "Chart viewer", scopes: "openid fhirUser user/*.rs offline_access",
                redirectURIs: [Self.redirect], isPublic: false, jwks: nil)
            let verifier = Secrets.token(bytes: 40)
            let authorize =
                "/oauth/authorize?"
                + QueryString.encode([
                    ("response_type", "code"), ("client_id", client.id), ("redirect_uri", Self.redirect), ("scope", "openid fhirUser user/*.rs offline_access"),
                    ("state", "st-1"), ("code_challenge", GrantStore.challenge(for: verifier)), ("code_challenge_method", "S256"), ("aud", TestServer.fhirBase),
                ])
            var b = Browser(s: s)
            // not signed in: to the login page, which comes back here
            let toLogin = try await b.send(.get, authorize)
            #expect(toLogin.code == 303)
            let loginPath = try #require(toLogin.headers[.location])
            let page = try await b.send(.get, loginPath)
            #expect(page.code == 200 && b.cookie != nil)
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            let csrf = try #require(Browser.field("csrf", in: page.text))
            let next = try #require(Browser.field("next", in: page.text))
            // a post without the CSRF token is refused
            #expect(try await b.send(.post, "/login", form: [("email", "xu@example.org"), ("password", AccessWorld.password), ("next", next)]).code == 403)
            // the password is right; a practitioner must enrol a second factor first, and the
            // authenticator's secret is shown only with the enrolment code an admin issued
            let enrolmentCode = try await s.services.identity.accounts.issueEnrolmentCode(userID: w.practitioner.id)
            let asked = try await b.send(.post, "/login", form: [("email", "xu@example.org"), ("password", AccessWorld.password), ("csrf", csrf), ("next", next)])
            #expect(asked.code == 200 && asked.text.contains("enrolment code") && !asked.text.contains("otpauth://"))
            let csrf2 = try #require(Browser.field("csrf", in: asked.text))
            #expect(csrf2 != csrf)  // a new session at each step
            let wrongCode = try await b.send(.post, "/login/enrol", form: [("enrolment_code", "guess"), ("csrf", csrf2), ("next", next)])
            #expect(wrongCode.code == 401 && !wrongCode.text.contains("otpauth://"))
            #expect(try await b.send(.post, "/login/enrol", form: [("code", "123456"), ("csrf", csrf2), ("next", next)]).code == 401)
            let enrol = try await b.send(.post, "/login/enrol", form: [("enrolment_code", enrolmentCode), ("csrf", csrf2), ("next", next)])
            #expect(enrol.code == 200 && enrol.text.contains("otpauth://totp/"))
            let secretText = try #require(enrol.text.range(of: "Key: <code>").map { String(enrol.text[$0.upperBound...].prefix { $0 != "<" }) })
            let totp = TOTP(secret: try #require(Base32.decode(secretText)))
            #expect(
                try await b.send(.post, "/login/enrol", form: [("enrolment_code", enrolmentCode), ("code", "000000"), ("csrf", csrf2), ("next", next)]).text.contains("not valid")
                    || totp.code(at: Date()) == "000000")
            let codes = try await b.send(.post, "/login/enrol", form: [("enrolment_code", enrolmentCode), ("code", totp.code(at: Date())), ("csrf", csrf2), ("next", next)])
            #expect(codes.code == 200 && codes.text.contains("Recovery codes"))
            // consent, then the code comes back to the app with the state
            let consent = try await b.send(.get, authorize)
            #expect(consent.code == 200 && consent.text.contains("Chart viewer"))
            // its form may lead to this server and to the app's registered redirect origin, nowhere else
            #expect(consent.headers[.contentSecurityPolicy]?.contains("form-action 'self' https://app.example;") == true)
            var fields = [("decision", "allow")]
            for name in ["client_id", "redirect_uri", "response_type", "scope", "code_challenge", "code_challenge_method", "state", "csrf"] {
                fields.append((name, try #require(Browser.field(name, in: consent.text))))
            }
            let back = try await b.send(.post, "/oauth/consent", form: fields)
            #expect(back.code == 303)
            let location = try #require(back.headers[.location])
            #expect(location.hasPrefix(Self.redirect + "?"))
            let params = Browser.query(location)
            #expect(params["state"] == "st-1")
            let code = try #require(params["code"])

            // the answer counts once, for the request shown: sent again, or with any of its
            // fields changed, it starts over
            #expect(try await b.send(.post, "/oauth/consent", form: fields).code == 400)
            let shown = try await b.send(.get, authorize)
            let tampered = fields.map { $0.0 == "state" ? ($0.0, "st-other") : $0.0 == "csrf" ? ($0.0, Browser.field("csrf", in: shown.text)!) : $0 }
            let refused = try await b.send(.post, "/oauth/consent", form: tampered)
            #expect(refused.code == 400 && refused.headers[.location] == nil && refused.text.contains("Start again"))

            // PKCE: the wrong verifier fails, and the code stays good for its own client
            let wrong = try await tokenRequest(
                s, [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Self.redirect), ("code_verifier", Secrets.token(bytes: 40))], basic: (client.id, secret!)
            )
            #expect(wrong.code == 400 && wrong["error"]?.stringValue == "invalid_grant")
            let code2 = code
            let tokens = try await tokenRequest(
                s, [("grant_type", "authorization_code"), ("code", code2), ("redirect_uri", Self.redirect), ("code_verifier", verifier)], basic: (client.id, secret!))
            #expect(tokens.code == 200)
            #expect(tokens.headers[.cacheControl] == "no-store")
            let access = try #require(tokens["access_token"]?.stringValue)
            let refresh = try #require(tokens["refresh_token"]?.stringValue)
            #expect(tokens["id_token"]?.stringValue != nil && tokens["token_type"]?.stringValue == "Bearer")
            let header = try JWT.parse(access).header
            #expect(header.alg == "ES256" && header.kid == s.services.identity.tokens.keys.keys.currentKID)
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: .bearer(access)).code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pb)", as: .bearer(access)).code == 403)
            // refresh rotation; reuse of a used refresh token revokes the grant
            let r1 = try await tokenRequest(s, [("grant_type", "refresh_token"), ("refresh_token", refresh)], basic: (client.id, secret!))
            #expect(r1.code == 200)
            let refresh2 = try #require(r1["refresh_token"]?.stringValue)
            #expect(refresh2 != refresh)
            let reuse = try await tokenRequest(s, [("grant_type", "refresh_token"), ("refresh_token", refresh)], basic: (client.id, secret!))
            #expect(reuse.code == 400 && reuse["error"]?.stringValue == "invalid_grant")
            let after = try await tokenRequest(s, [("grant_type", "refresh_token"), ("refresh_token", refresh2)], basic: (client.id, secret!))
            #expect(after.code == 400)
            // replaying a code fails, and revokes what the code was exchanged for
            _ = try await b.send(.get, authorize)
            let third = try await b.send(.post, "/oauth/consent", form: fields)
            let thirdLocation = try #require(third.headers[.location])
            let code3 = try #require(Browser.query(thirdLocation)["code"])
            let exchange: [(String, String)] = [("grant_type", "authorization_code"), ("code", code3), ("redirect_uri", Self.redirect), ("code_verifier", verifier)]
            let tokens3 = try await tokenRequest(s, exchange, basic: (client.id, secret!))
            #expect(tokens3.code == 200)
            let replay = try await tokenRequest(s, exchange, basic: (client.id, secret!))
            #expect(replay.code == 400 && replay["error"]?.stringValue == "invalid_grant")
            let refresh3 = try #require(tokens3["refresh_token"]?.stringValue)
            #expect(try await tokenRequest(s, [("grant_type", "refresh_token"), ("refresh_token", refresh3)], basic: (client.id, secret!)).code == 400)
            // the audit trail has the login, the MFA enrolment and the token issues
            let events = try await s.get("/fhir/AuditEvent?_count=200").entries.compactMap { $0["resource"]?["subtype"]?.arrayValue?.first?["code"]?.stringValue }
            for kind in ["login", "mfa-enrol", "authorize", "token"] { #expect(events.contains(kind), "\(kind)") }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func loginLockoutAndSecondFactorWithRecoveryCode(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let accounts = s.services.identity.accounts
            let user = try await accounts.create(email: "ops@example.org", role: .admin, password: AccessWorld.password, patientID: nil, practitionerID: nil)
            let totp = try await accounts.beginEnrolment(userID: user.id)
            let codes = try #require(try await accounts.confirmEnrolment(userID: user.id, code: totp.code(at: Date()), enrolmentCode: nil))
            var b = Browser(s: s)
            var page = try await b.send(.get, "/login")
            // the second factor: a wrong code, then a recovery code
            page = try await b.send(.post, "/login", form: [("email", "ops@example.org"), ("password", AccessWorld.password), ("csrf", Browser.field("csrf", in: page.text)!)])
            #expect(page.code == 200 && page.text.contains("authenticator"))
            let csrf = try #require(Browser.field("csrf", in: page.text))
            #expect(try await b.send(.post, "/login/mfa", form: [("code", "12345x"), ("csrf", csrf)]).code == 401)
            let done = try await b.send(.post, "/login/mfa", form: [("code", codes[3]), ("csrf", csrf)])
            #expect(done.code == 303)
            #expect(try await accounts.unusedRecoveryCodes(userID: user.id) == 9)

            // five wrong passwords lock the account; then even the right one is refused
            var other = Browser(s: s)
            for _ in 1...5 {
                let form = try await other.send(.get, "/login")
                #expect(
                    try await other.send(.post, "/login", form: [("email", "ops@example.org"), ("password", "not-the-password"), ("csrf", Browser.field("csrf", in: form.text)!)])
                        .code == 401)
            }
            let form = try await other.send(.get, "/login")
            let locked = try await other.send(
                .post, "/login", form: [("email", "ops@example.org"), ("password", AccessWorld.password), ("csrf", Browser.field("csrf", in: form.text)!)])
            // the right password, refused with the same answer as a wrong one
            #expect(locked.code == 401 && locked.text.contains("locked after too many failed attempts"))
            let audit = try await s.get("/fhir/AuditEvent?_count=200").entries.compactMap { $0["resource"] }
            let subtypes = audit.compactMap { $0["subtype"]?.arrayValue?.first?["code"]?.stringValue }
            #expect(subtypes.filter { $0 == "login" }.count == 7)  // 1 success, 5 failures, 1 locked
            #expect(subtypes.contains("lockout") && subtypes.contains("mfa"))
            let failures = audit.filter { $0["subtype"]?.arrayValue?.first?["code"]?.stringValue == "login" && $0["outcome"]?.stringValue == "4" }
            #expect(failures.count == 6)
            #expect(failures.allSatisfy { $0["agent"]?.arrayValue?.first?["who"]?["identifier"]?["value"]?.stringValue == user.id })
        }
    }

    @Test func signInNeverRedirectsOffSite() async throws {
        try await TestServer.run(.sqlite) { s in
            var b = Browser(s: s)
            for next in ["/%09/evil.example", "//evil.example", "https://evil.example", "/\\evil.example", "/%0d%0aSet-Cookie:x"] {
                let page = try await b.send(.get, "/login?next=\(next)")
                #expect(Browser.field("next", in: page.text) == "/login", "\(next)")
            }
            // (as sent in the form: a path with dot segments, an empty segment or an encoded slash is not taken either)
            // (the WAF stops the traversals before the page: no sign-in form at all)
            for next in ["/.//evil.example", "/%2fevil.example", "/%5Cevil.example", "/portal/../admin", "/a//b", "/%2e%2e/x"] {
                let page = try await b.send(.get, "/login?" + QueryString.encode([("next", next)]))
                #expect([nil, "/login"].contains(Browser.field("next", in: page.text)), "\(next)")
            }
            // a real destination with an encoded query is kept
            let authorize = "/oauth/authorize?client_id=a&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid"
            let kept = try await b.send(.get, "/login?" + QueryString.encode([("next", authorize)]))
            #expect(Browser.field("next", in: kept.text) == authorize)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func clientCredentialsIntrospectionAndRevocation(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let (client, secret) = try await s.services.identity.clients.create(
                name: "lab", scopes: "system/Observation.rs system/Patient.rs", redirectURIs: [], isPublic: false, jwks: nil)
            let basic = try await tokenRequest(s, [("grant_type", "client_credentials"), ("scope", "system/Observation.rs")], basic: (client.id, secret!))
            #expect(basic.code == 200 && basic["scope"]?.stringValue == "system/Observation.rs")
            let token = try #require(basic["access_token"]?.stringValue)
            #expect(try await s.get("/fhir/Observation", as: .bearer(token)).code == 200)
            #expect(try await s.get("/fhir/Patient", as: .bearer(token)).code == 403)
            let post = try await tokenRequest(s, [("grant_type", "client_credentials"), ("client_id", client.id), ("client_secret", secret!)])
            #expect(post.code == 200)
            let bad = try await tokenRequest(s, [("grant_type", "client_credentials")], basic: (client.id, "wrong"))
            #expect(bad.code == 401 && bad["error"]?.stringValue == "invalid_client" && bad.headers[.wwwAuthenticate] != nil)
            #expect(try await tokenRequest(s, [("grant_type", "password")], basic: (client.id, secret!))["error"]?.stringValue == "unsupported_grant_type")
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            headers[.authorization] = "Basic " + Data("\(client.id):\(secret!)".utf8).base64EncodedString()
            let active = try await s.request(.post, "/oauth/introspect", body: QueryString.encode([("token", token)]), headers: headers, as: .anonymous)
            #expect(active["active"]?.boolValue == true && active["client_id"]?.stringValue == client.id)
            // another client cannot revoke it (RFC 7009 §2.1); its owner can
            let (other, otherSecret) = try await s.services.identity.clients.create(name: "other", scopes: "system/Patient.rs", redirectURIs: [], isPublic: false, jwks: nil)
            var otherHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            otherHeaders[.authorization] = "Basic " + Data("\(other.id):\(otherSecret!)".utf8).base64EncodedString()
            // nor learn anything about it through introspection
            let foreign = try await s.request(.post, "/oauth/introspect", body: QueryString.encode([("token", token)]), headers: otherHeaders, as: .anonymous)
            #expect(foreign.text == #"{"active":false}"#)
            // a public client's id (the only credential it has) cannot be probed either
            let (app, _) = try await s.services.identity.clients.create(name: "app", scopes: "patient/*.rs", redirectURIs: ["https://app.example/cb"], isPublic: true, jwks: nil)
            for grant in [
                [("grant_type", "authorization_code"), ("code", "junk"), ("redirect_uri", "https://app.example/cb"), ("code_verifier", String(repeating: "a", count: 43))],
                [("grant_type", "refresh_token"), ("refresh_token", "junk")], [("grant_type", "client_credentials")],
            ] {
                let known = try await tokenRequest(s, grant + [("client_id", app.id)])
                let unknownID = try await tokenRequest(s, grant + [("client_id", "no-such-app")])
                #expect(known.code == unknownID.code && known["error"] == unknownID["error"] && known["error_description"] == unknownID["error_description"], "\(grant[0].1)")
            }
            // the token endpoint answers an unknown client id exactly as a wrong secret
            let unknown = try await tokenRequest(s, [("grant_type", "client_credentials")], basic: ("no-such-client", "wrong"))
            #expect(unknown.code == bad.code && unknown.text == bad.text)
            #expect(try await s.request(.post, "/oauth/revoke", body: QueryString.encode([("token", token)]), headers: otherHeaders, as: .anonymous).code == 200)
            #expect(try await s.get("/fhir/Observation", as: .bearer(token)).code == 200)
            #expect(try await s.request(.post, "/oauth/revoke", body: QueryString.encode([("token", token)]), headers: headers, as: .anonymous).code == 200)
            #expect(try await s.get("/fhir/Observation", as: .bearer(token)).code == 401)
            let inactive = try await s.request(.post, "/oauth/introspect", body: QueryString.encode([("token", token)]), headers: headers, as: .anonymous)
            #expect(inactive["active"]?.boolValue == false)
        }
    }
}
