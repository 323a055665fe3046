import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import NIOCore
import Telemetry

/// Requires a signed-in web session for the portal and console pages (`RouteTable.signedIn`):
/// the `hh_session` cookie of a session whose password (and second factor) were accepted, of an
/// account that is not disabled. Without one, a GET is sent to the sign-in page (and back
/// afterwards), anything else gets a 403 page; both are audited as denials.
///
/// Every state-changing request must also come from HealthHub's own pages: its `Origin` (when
/// the browser sends one) is this server, and its form carries the session's CSRF token.
///
/// The principal is the account's, with the scopes its role may use on the FHIR API
/// (`scopes(for:)`), so a page reaches exactly what the same person's token would, under the
/// same access policy.
package struct SessionAuthenticator: RouterMiddleware {
    package typealias Context = AppRequestContext
    let identity: IdentityServices
    let audit: SecurityAudit
    let limiter: RateLimiter?

    package init(identity: IdentityServices, audit: SecurityAudit, limiter: RateLimiter?) {
        self.identity = identity
        self.audit = audit
        self.limiter = limiter
    }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard let signed = try await signedIn(request) else {
            await audit.denied(request, context, reason: "login", principal: nil, failure: .missing)
            return Self.signInAgain(request)
        }
        let (session, user, principal) = (signed.session, signed.user, signed.principal)
        var request = request
        if ![.get, .head].contains(request.method) {
            guard Self.sameOrigin(request) else {
                await audit.denied(request, context, reason: "forbidden", principal: principal)
                return Page.html("Not allowed", Page.message("This form was not sent from HealthHub's own pages.", error: true), status: .forbidden)
            }
            let body = try await request.collectBody(upTo: PageSession.formLimit)
            guard let csrf = Self.csrfToken(in: body, contentType: request.headers[.contentType]), constantTimeEquals(csrf, session.csrf) else {
                await audit.denied(request, context, reason: "csrf", principal: principal)
                return Page.html("Session expired", Page.message("This form has expired. Go back, reload the page and try again.", error: true), status: .forbidden)
            }
        }
        var context = context
        context.principal = principal
        context.session = PageSession(
            csrf: session.csrf, email: user.email, ownRecord: user.role == .patient ? user.patientID : nil, proxyRecords: signed.records.map(\.patientID))
        if let limiter, limiter.configuration.enabled {
            let decision = limiter.charge(
                "user:\(user.id)", cost: limiter.cost(context.interaction ?? limiter.interaction(request.method, request.uri.path)), budget: limiter.configuration.user)
            guard decision.allowed else { throw RateLimitError(decision: decision, scope: "requests of this account") }
        }
        return try await responding(request, context, next)
    }

    /// The request's session cookie, for a page that changes its own session (`SessionStore.act`).
    package static func sessionCookie(_ request: Request) -> String? { Cookies.value(Cookies.session, in: request) }

    /// A signed-in session, its account and the principal of its pages.
    package struct SignedIn: Sendable {
        package let session: SessionStore.Session
        package let user: User
        package let principal: Principal
        /// For a portal account: the patients it may act for as a proxy.
        package let records: [ProxyStore.Proxy]
    }

    /// The session of the request's `hh_session` cookie when its sign-in finished, and its
    /// account when that is not disabled; nil otherwise. (Pages, and the live-updates socket.)
    package func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let cookie = Cookies.value(Cookies.session, in: request), let session = try await identity.sessions.load(cookie),
            let userID = session.userID, let user = try await identity.accounts.find(id: userID), !user.disabled
        else { return nil }
        let records = user.role == .patient ? try await identity.proxies.records(of: userID) : []
        return SignedIn(session: session, user: user, principal: Self.principal(of: user, actingFor: session.actingFor, records: records), records: records)
    }

    /// The account as the principal of its pages. No OAuth client acts: the audit trail shows
    /// the person, with no application. A portal account acts for the patient its session
    /// chose when it is one of its proxy records (as that patient's RelatedPerson: the audit
    /// trail shows the proxy, not the patient), else for its own record; an account with no
    /// record of its own acts for its first proxy record.
    package static func principal(of user: User, actingFor: String? = nil, records: [ProxyStore.Proxy] = []) -> Principal {
        var principal = Principal(
            subject: user.id, role: user.role, reference: user.reference, patient: user.role == .patient ? user.patientID : nil,
            practitioner: user.practitionerID, scopes: scopes(for: user.role))
        guard user.role == .patient else { return principal }
        let chosen = actingFor.flatMap { id in records.first { $0.patientID == id } } ?? (user.patientID == nil ? records.first : nil)
        if let chosen {
            principal.patient = chosen.patientID
            principal.reference = chosen.reference
        }
        return principal
    }

    /// What a role's pages may ask the FHIR layer for; the access policy limits it further
    /// (a patient's own compartment, a practitioner's patients in care, admins' reference data).
    package static func scopes(for role: Role) -> ScopeSet {
        switch role {
        case .patient: ScopeSet("patient/*.cruds")
        case .practitioner, .admin: ScopeSet("user/*.cruds")
        case .auditor: ScopeSet("user/AuditEvent.rs")
        case .system: ScopeSet("")
        }
    }

    /// Where a request without a session goes: a page view to the sign-in (and back here after
    /// it), a form post to a page saying so (its content cannot be replayed after sign-in).
    static func signInAgain(_ request: Request) -> Response {
        guard [.get, .head].contains(request.method) else {
            return Page.html("Signed out", Page.message("You are not signed in (or the session has ended).", link: ("/login", "Sign in")), status: .forbidden)
        }
        let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        return LoginController.redirect("/login?" + Form.encode([("next", LoginController.safeNext(target))]))
    }

    /// A browser names the page a form came from in `Origin`; it must be this server.
    /// (`Sec-Fetch-Site: cross-site` is refused too, for browsers that send only that.)
    package static func sameOrigin(_ request: Request) -> Bool {
        if request.headers[.secFetchSite] == "cross-site" { return false }
        guard let origin = request.headers[.origin] else { return true }
        // an Origin is scheme://host[:port], nothing more
        guard let parts = URLComponents(string: origin), let host = parts.host, ["http", "https"].contains(parts.scheme ?? ""), parts.path.isEmpty,
            parts.query == nil, parts.user == nil, let authority = request.head.authority
        else { return false }
        let port = parts.port.map { ":\($0)" } ?? ""
        return (host + port).lowercased() == authority.lowercased() || "[\(host)]\(port)".lowercased() == authority.lowercased()
    }

    /// The `csrf` field of a urlencoded or multipart form.
    static func csrfToken(in body: ByteBuffer, contentType: String?) -> String? {
        let type = (contentType ?? "").lowercased()
        if type.hasPrefix("application/x-www-form-urlencoded") { return Form(String(buffer: body))["csrf"] }
        if type.hasPrefix("multipart/form-data"), let form = MultipartForm(body, contentType: contentType ?? "") {
            return form.fields["csrf"]
        }
        return nil
    }
}

extension HTTPField.Name {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
