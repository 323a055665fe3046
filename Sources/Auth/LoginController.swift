import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import NIOCore
import Storage

/// The pages people use: sign-in (password, then TOTP or a recovery code, with enrolment on
/// first use where MFA is mandatory), sign-out, and the SMART authorize endpoint with its
/// consent screen. Every form post carries the session's CSRF token.
package struct LoginController: Sendable {
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

    /// Public routes: each establishes or checks a sign-in session itself.
    package func register(on routes: RouteTable) {
        let router = routes.publicRoutes
        router.get("login", use: loginPage)
        router.post("login", use: login)
        router.post("login/mfa", use: secondFactor)
        router.post("login/enrol", use: enrol)
        router.post("logout", use: logout)
        router.get("oauth/authorize", use: authorize)
        router.post("oauth/authorize", use: authorize)
        router.post("oauth/consent", use: consent)
    }

    // MARK: Sessions

    func session(_ request: Request) async throws -> SessionStore.Session? {
        guard let cookie = Cookies.value(Cookies.session, in: request) else { return nil }
        return try await identity.sessions.load(cookie)
    }

    /// Where a sign-in without a destination ends: the signed-in person's start page (the
    /// portal for patients, the console for staff).
    static let home = "/home"

    /// Where a completed sign-in goes: `next`, or the start page when it is the sign-in itself.
    static func after(_ next: String) -> String { next == "/login" ? home : next }

    /// Only local paths: `next` must never send a browser to another site.
    /// Browsers drop tabs and newlines from URLs, so `/\t/evil.example` would become
    /// `//evil.example`: anything but visible ASCII is refused.
    /// The path (before any query) must also be plain: no dot segments and no encoded slash,
    /// backslash or control character, which a browser or proxy could turn into one of the above.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), next.count <= 4096,
            next.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return "/login" }
        let path = next.prefix { $0 != "?" && $0 != "#" }.lowercased()
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !segments.contains(where: { $0 == "." || $0 == ".." || $0.isEmpty && $0.startIndex != path.endIndex }),
            !["%2f", "%5c", "%2e", "%00", "%09", "%0a", "%0d"].contains(where: { path.contains($0) })
        else { return "/login" }
        return next
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    /// A sign-in form's post: from HealthHub's own page (`Origin`, `Sec-Fetch-Site`), with the
    /// session's CSRF token.
    static func fromOwnPage(_ request: Request, _ form: Form, _ session: SessionStore.Session?) -> Bool {
        guard let session, SessionAuthenticator.sameOrigin(request), let csrf = form["csrf"] else { return false }
        return constantTimeEquals(csrf, session.csrf)
    }

    func csrfFailure() -> Response {
        Page.html("Session expired", Page.message("Your sign-in form has expired.", link: ("/login", "Start again")), status: .forbidden)
    }

    // MARK: Password

    @Sendable func loginPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
        if next == "/login", let s = try await session(request), s.userID != nil { return Self.redirect(Self.home) }
        let (cookie, s) = try await identity.sessions.create()
        return Page.html("Sign in", Page.login(csrf: s.csrf, next: next, message: nil), cookie: Cookies.set(cookie, secure: urls.isHTTPS(request)))
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let next = Self.safeNext(form["next"])
        let s = try await session(request)
        guard let s, Self.fromOwnPage(request, form, s) else { return csrfFailure() }
        let secure = urls.isHTTPS(request)
        let retry = { (message: String, status: HTTPResponse.Status) -> Response in
            Page.html("Sign in", Page.login(csrf: s.csrf, next: next, message: message), status: status)
        }
        switch try await identity.accounts.checkPassword(email: form["email"] ?? "", password: form["password"] ?? "") {
        case .failed(let userID, let lockedNow):
            await audit.record("login", context, agent: userID.map { "User/\($0)" } ?? "anonymous", success: false, code: "invalid-credentials")
            if lockedNow, let userID { await audit.record("lockout", context, agent: "User/\(userID)", success: true) }
            return retry(Self.failedSignIn, .unauthorized)
        case .locked(let userID, _):
            // The same answer as a wrong password, so a lockout does not confirm the account exists.
            await audit.record("login", context, agent: "User/\(userID)", success: false, code: "locked")
            return retry(Self.failedSignIn, .unauthorized)
        case .disabled(let userID):
            await audit.record("login", context, agent: "User/\(userID)", success: false, code: "disabled")
            return retry(Self.failedSignIn, .unauthorized)
        case .passwordAccepted(let user):
            if user.mfaEnrolled || user.mfaRequired {
                let (cookie, pending) = try await identity.sessions.replace(s, userID: nil, pendingUserID: user.id)
                let setCookie = Cookies.set(cookie, secure: secure)
                if user.mfaEnrolled {
                    return Page.html("Two-factor sign-in", Page.mfa(csrf: pending.csrf, next: next, message: nil), cookie: setCookie)
                }
                // The authenticator's secret is shown only to whoever also has the account's
                // one-time enrolment code (issued by an admin), never for a password alone.
                return Page.html("Set up two-factor sign-in", Page.enrolmentCode(csrf: pending.csrf, next: next, message: nil), cookie: setCookie)
            }
            let (cookie, _) = try await identity.sessions.replace(s, userID: user.id, pendingUserID: nil)
            try await identity.accounts.recordSuccess(userID: user.id)
            await audit.record("login", context, agent: user.reference, role: user.role.rawValue, success: true)
            return Self.redirect(Self.after(next), cookie: Cookies.set(cookie, secure: secure))
        }
    }

    static let failedSignIn = "The email or password is wrong, or the account is locked after too many failed attempts (try again in 15 minutes)."

    func enrolmentPage(_ user: User, csrf: String, next: String, enrolmentCode: String, message: String?, cookie: String? = nil) async throws -> Response {
        let totp = try await identity.accounts.enrolment(userID: user.id)
        return Page.html(
            "Set up two-factor sign-in",
            Page.enrol(
                csrf: csrf, next: next, enrolmentCode: enrolmentCode, uri: totp.uri(account: user.email, issuer: "HealthHub"),
                secret: Base32.encode(totp.secret), message: message), cookie: cookie)
    }

    // MARK: Second factor

    func pendingUser(_ request: Request, _ form: Form) async throws -> (SessionStore.Session, User)? {
        guard let s = try await session(request), Self.fromOwnPage(request, form, s),
            let id = s.pendingUserID, let user = try await identity.accounts.find(id: id), !user.disabled
        else { return nil }
        return (s, user)
    }

    @Sendable func secondFactor(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let next = Self.safeNext(form["next"])
        guard let (s, user) = try await pendingUser(request, form), user.mfaEnrolled else { return csrfFailure() }
        if user.lockedUntil > Secrets.nowMillis() {
            try await identity.sessions.destroy(hash: s.idHash)
            await audit.record("mfa", context, agent: user.reference, success: false, code: "locked")
            return Page.html("Sign in", Page.message("Too many failed attempts. Try again later.", error: true), status: .forbidden)
        }
        guard let factor = try await identity.accounts.verifySecondFactor(userID: user.id, code: form["code"] ?? "") else {
            let locked = try await identity.accounts.recordFailure(userID: user.id)
            await audit.record("mfa", context, agent: user.reference, role: user.role.rawValue, success: false, code: "invalid-code")
            if locked {
                await audit.record("lockout", context, agent: user.reference, success: true)
                try await identity.sessions.destroy(hash: s.idHash)
                return Page.html("Sign in", Page.message("Too many failed attempts. Try again later.", error: true), status: .forbidden)
            }
            return Page.html("Two-factor sign-in", Page.mfa(csrf: s.csrf, next: next, message: "That code is not valid."), status: .unauthorized)
        }
        let (cookie, _) = try await identity.sessions.replace(s, userID: user.id, pendingUserID: nil)
        try await identity.accounts.recordSuccess(userID: user.id)
        await audit.record(
            "login", context, agent: user.reference, role: user.role.rawValue, success: true,
            code: factor == .recoveryCode ? "recovery-code" : nil)
        return Self.redirect(Self.after(next), cookie: Cookies.set(cookie, secure: urls.isHTTPS(request)))
    }

    @Sendable func enrol(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let next = Self.safeNext(form["next"])
        guard let (s, user) = try await pendingUser(request, form), !user.mfaEnrolled else { return csrfFailure() }
        let enrolmentCode = form["enrolment_code"] ?? ""
        // Step 1: the enrolment code, before the secret is shown. A wrong one counts towards
        // the lockout like a wrong password.
        guard try await identity.accounts.checkEnrolmentCode(userID: user.id, code: enrolmentCode) else {
            await audit.record("mfa-enrol", context, agent: user.reference, role: user.role.rawValue, success: false, code: "invalid-enrolment-code")
            if try await identity.accounts.recordFailure(userID: user.id) {
                await audit.record("lockout", context, agent: user.reference, success: true)
            }
            return Page.html(
                "Set up two-factor sign-in",
                Page.enrolmentCode(
                    csrf: s.csrf, next: next,
                    message: "That enrolment code is not valid or has expired; ask an administrator for a new one."), status: .unauthorized)
        }
        guard let code = form["code"] else {
            return try await enrolmentPage(user, csrf: s.csrf, next: next, enrolmentCode: enrolmentCode, message: nil)
        }
        // Step 2: the authenticator's first code; the enrolment code is used up with it.
        guard let codes = try await identity.accounts.confirmEnrolment(userID: user.id, code: code, enrolmentCode: enrolmentCode) else {
            await audit.record("mfa-enrol", context, agent: user.reference, role: user.role.rawValue, success: false, code: "invalid-code")
            return try await enrolmentPage(user, csrf: s.csrf, next: next, enrolmentCode: enrolmentCode, message: "That code is not valid; check the clock of your device.")
        }
        let (cookie, _) = try await identity.sessions.replace(s, userID: user.id, pendingUserID: nil)
        try await identity.accounts.recordSuccess(userID: user.id)
        await audit.record("mfa-enrol", context, agent: user.reference, role: user.role.rawValue, success: true)
        await audit.record("login", context, agent: user.reference, role: user.role.rawValue, success: true)
        return Page.html("Recovery codes", Page.recoveryCodes(codes, next: next), cookie: Cookies.set(cookie, secure: urls.isHTTPS(request)))
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let secure = urls.isHTTPS(request)
        let s = try await session(request)
        guard let s, Self.fromOwnPage(request, form, s) else { return csrfFailure() }
        try await identity.sessions.destroy(hash: s.idHash)
        if let id = s.userID, let user = try await identity.accounts.find(id: id) {
            await audit.record("logout", context, agent: user.reference, role: user.role.rawValue, success: true)
        }
        return Page.html("Signed out", Page.message("You are signed out."), cookie: Cookies.clear(secure: secure))
    }

    // MARK: Authorize

    struct AuthorizeRequest {
        var client: OAuthClient
        var redirectURI: String
        var scope: ScopeSet
        var state: String?
        var challenge: String
        var nonce: String?

        var fields: [(String, String)] {
            var f = [
                ("client_id", client.id), ("redirect_uri", redirectURI), ("response_type", "code"), ("scope", scope.text),
                ("code_challenge", challenge), ("code_challenge_method", "S256"),
            ]
            if let state { f.append(("state", state)) }
            if let nonce { f.append(("nonce", nonce)) }
            return f
        }

        /// What the consent page shows and its answer must match (`SessionStore.takeConsent`).
        var digest: String { Secrets.hash(Form.encode(fields)) }
    }

    enum Outcome {
        case ready(AuthorizeRequest)
        case response(Response)
    }

    static func errorRedirect(_ uri: String, _ error: String, _ description: String, state: String?) -> Response {
        var pairs = [("error", error), ("error_description", description)]
        if let state { pairs.append(("state", state)) }
        return redirect(uri + (uri.contains("?") ? "&" : "?") + Form.encode(pairs))
    }

    /// RFC 6749 §4.1.2.1: a bad client or redirect URI gets an error page (never a redirect to
    /// an unverified URI); everything else is reported to the client by redirect.
    func validate(_ form: Form, request: Request, user: User?) async throws -> Outcome {
        guard let clientID = form["client_id"], let client = try await identity.clients.find(clientID), !client.revoked, client.kind != .backend else {
            return .response(Page.html("Unknown application", Page.message("The application asking for access is not registered here.", error: true), status: .badRequest))
        }
        let redirectURI = form["redirect_uri"] ?? (client.redirectURIs.count == 1 ? client.redirectURIs[0] : "")
        guard client.redirectURIs.contains(redirectURI) else {
            return .response(Page.html("Invalid redirect", Page.message("The application's redirect URI is not registered.", error: true), status: .badRequest))
        }
        let state = form["state"]
        guard form["response_type"] == "code" else {
            return .response(Self.errorRedirect(redirectURI, "unsupported_response_type", "Only response_type=code is supported", state: state))
        }
        guard let challenge = form["code_challenge"], form["code_challenge_method"] == "S256", (43...128).contains(challenge.count) else {
            return .response(Self.errorRedirect(redirectURI, "invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256", state: state))
        }
        if let aud = form["aud"], aud.trimmingCharacters(in: CharacterSet(charactersIn: "/")) != urls.fhirBase(request) {
            return .response(Self.errorRedirect(redirectURI, "invalid_request", "aud is not this server's FHIR base URL", state: state))
        }
        let requested = form["scope"].map(ScopeSet.init) ?? client.scopes
        var scope = requested.tokens.filter { Self.clientAllows(client.scopes, $0) }
        if let user { scope = scope.filter { Self.roleAllows(user.role, $0, launchPatient: requested.contains("launch/patient")) } }
        guard !scope.isEmpty else { return .response(Self.errorRedirect(redirectURI, "invalid_scope", "None of the requested scopes can be granted", state: state)) }
        return .ready(AuthorizeRequest(client: client, redirectURI: redirectURI, scope: ScopeSet(tokens: scope), state: state, challenge: challenge, nonce: form["nonce"]))
    }

    /// A requested scope is allowed when the client registered it, or registered a scope of the
    /// same context that grants every permission it asks for.
    static func clientAllows(_ registered: ScopeSet, _ token: String) -> Bool {
        if registered.contains(token) { return true }
        guard let asked = ResourceScope(token) else { return false }
        return asked.permissions.allSatisfy { p in
            registered.resources.contains { $0.context == asked.context && ($0.resourceType == "*" || $0.resourceType == asked.resourceType) && $0.permissions.contains(p) }
        }
    }

    /// Users get user/ and patient/ scopes (never system/); a practitioner's patient/ scopes
    /// need a patient chosen at launch.
    static func roleAllows(_ role: Role, _ token: String, launchPatient: Bool) -> Bool {
        guard let s = ResourceScope(token) else { return token != "launch/patient" || role == .patient || role == .practitioner }
        switch (role, s.context) {
        case (_, .system): return false
        case (.patient, _): return true
        case (.practitioner, .patient): return launchPatient
        case (_, .user): return true
        default: return false
        }
    }

    @Sendable func authorize(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = request.method == .post ? try await Form.body(request) : Form(request.uri.query ?? "")
        let s = try await session(request)
        let user: User? = if let id = s?.userID { try await identity.accounts.find(id: id) } else { nil }
        switch try await validate(form, request: request, user: user) {
        case .response(let r): return r
        case .ready(let a):
            guard let s, let user, !user.disabled else {
                let next = "/oauth/authorize?" + Form.encode(a.fields)
                return Self.redirect("/login?" + Form.encode([("next", next)]))
            }
            let needsPatient = user.role == .practitioner && a.scope.contains("launch/patient")
            try await identity.sessions.showConsent(s, request: a.digest)
            let body = Page.consent(client: a.client.name, email: user.email, scopes: a.scope.tokens, fields: a.fields + [("csrf", s.csrf)], needsPatient: needsPatient)
            return Page.html("Allow access?", body, formTarget: a.redirectURI)
        }
    }

    @Sendable func consent(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        guard let s = try await session(request), Self.fromOwnPage(request, form, s),
            let id = s.userID, let user = try await identity.accounts.find(id: id), !user.disabled
        else { return csrfFailure() }
        guard case .ready(let a) = try await validate(form, request: request, user: user) else {
            return Page.html("Invalid request", Page.message("The authorization request is not valid.", error: true), status: .badRequest)
        }
        // The answer counts for the request the page showed, once: a form whose application,
        // scopes, redirect or challenge were changed, or one sent twice, starts over.
        guard try await identity.sessions.takeConsent(s, request: a.digest) else {
            await audit.record("authorize", context, agent: user.reference, role: user.role.rawValue, client: a.client.id, success: false, code: "consent_mismatch")
            return Page.html(
                "Start again", Page.message("This answer does not match the request that was shown (or was already given). Start again from the application.", error: true),
                status: .badRequest)
        }
        guard form["decision"] == "allow" else {
            await audit.record("authorize", context, agent: user.reference, role: user.role.rawValue, client: a.client.id, success: false, code: "access_denied")
            return Self.errorRedirect(a.redirectURI, "access_denied", "The user denied access", state: a.state)
        }
        var patient: String?
        if user.role == .practitioner && a.scope.contains("launch/patient") {
            let chosen = (form["patient"] ?? "").replacingOccurrences(of: "Patient/", with: "")
            let inCare = try await care.isInCare(patient: chosen, practitioner: user.practitionerID ?? "")
            guard ResourceID.isValid(chosen), inCare else {
                return Page.html("Allow access?", Page.message("That patient is not in your care.", error: true), status: .forbidden)
            }
            patient = chosen
        }
        let code = try await identity.grants.createCode(
            .init(
                clientID: a.client.id, userID: user.id, redirectURI: a.redirectURI, scope: a.scope,
                patientID: patient, codeChallenge: a.challenge, nonce: a.nonce))
        await audit.record("authorize", context, agent: user.reference, role: user.role.rawValue, client: a.client.id, success: true)
        var pairs = [("code", code)]
        if let state = a.state { pairs.append(("state", state)) }
        return Self.redirect(a.redirectURI + (a.redirectURI.contains("?") ? "&" : "?") + Form.encode(pairs))
    }
}
