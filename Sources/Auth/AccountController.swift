import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import Logging
import Mail

/// The public pages of an account link (`AccountLink`): "forgot your password" sends a reset
/// link by email, and the link's page sets the password, for a reset as for an invitation.
/// The forms carry the anonymous session's CSRF token and `Origin`, like the sign-in form.
/// Whether an account exists is never told: the answer to a reset request is the same either
/// way, and the email leaves after the answer.
package struct AccountController: Sendable {
    let identity: IdentityServices
    let mail: AccountMail
    let urls: ServerURLs
    let audit: SecurityAudit

    package init(identity: IdentityServices, mail: AccountMail, urls: ServerURLs, audit: SecurityAudit) {
        self.identity = identity
        self.mail = mail
        self.urls = urls
        self.audit = audit
    }

    package func register(on routes: RouteTable) {
        let router = routes.publicRoutes
        router.get("account/reset", use: resetPage)
        router.post("account/reset", use: requestReset)
        router.get("account/password", use: passwordPage)
        router.post("account/password", use: setPassword)
    }

    func session(_ request: Request) async throws -> SessionStore.Session? {
        guard let cookie = Cookies.value(Cookies.session, in: request) else { return nil }
        return try await identity.sessions.load(cookie)
    }

    /// The anonymous session a form is posted back with (a new one, like the sign-in page's).
    func anonymous(_ request: Request) async throws -> (cookie: String, csrf: String) {
        let (cookie, s) = try await identity.sessions.create()
        return (Cookies.set(cookie, secure: urls.isHTTPS(request)), s.csrf)
    }

    static let unavailable = "Password reset by email is not set up on this server. Ask your administrator to reset your access."

    @Sendable func resetPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard mail.configured else { return Page.html("Reset your password", Page.message(Self.unavailable, link: ("/login", "Back to sign-in"))) }
        let (cookie, csrf) = try await anonymous(request)
        return Page.html("Reset your password", Page.resetRequest(csrf: csrf, message: nil), cookie: cookie)
    }

    static let sent = "If an account has this address, a link to choose a new password is on its way to it. The link is good for an hour."

    @Sendable func requestReset(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        guard let s = try await session(request), LoginController.fromOwnPage(request, form, s) else {
            return Page.html("Session expired", Page.message("The form has expired.", link: ("/account/reset", "Start again")), status: .forbidden)
        }
        guard mail.configured else { return Page.html("Reset your password", Page.message(Self.unavailable), status: .notFound) }
        guard let email = form["email"], Mail.isAddress(email) else {
            return Page.html("Reset your password", Page.resetRequest(csrf: s.csrf, message: "Enter an email address."), status: .badRequest)
        }
        if let (user, token) = try await identity.accounts.issueReset(email: email) {
            await audit.record("password-reset-request", context, agent: user.reference, role: user.role.rawValue, success: true)
            let link = AccountMail.link(urls.issuer(request), token: token)
            let (mail, logger) = (mail, context.logger)
            // After the answer, so that its timing does not tell whether the account exists.
            Task {
                do { try await mail.sendReset(to: user.email, link: link) } catch {
                    logger.error("could not send a password reset email", metadata: ["error": .string(String(describing: error).prefix(200).description)])
                }
            }
        }
        return Page.html("Check your email", Page.message(Self.sent, link: ("/login", "Back to sign-in")))
    }

    static let expired = "This link is not valid: it was used already, it expired, or a newer one replaced it."

    @Sendable func passwordPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        guard let (user, purpose) = try await identity.accounts.account(forLink: token) else {
            return Page.html("Link not valid", Page.message(Self.expired, error: true, link: ("/account/reset", "Ask for a new link")), status: .notFound)
        }
        let (cookie, csrf) = try await anonymous(request)
        return Page.html(
            Self.title(purpose), Page.setPassword(csrf: csrf, token: token, email: user.email, purpose: purpose, message: nil), cookie: cookie)
    }

    static func title(_ purpose: AccountLink) -> String { purpose == .invitation ? "Create your account" : "Choose a new password" }

    @Sendable func setPassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.body(request)
        let token = form["token"] ?? ""
        guard let s = try await session(request), LoginController.fromOwnPage(request, form, s) else {
            return Page.html("Session expired", Page.message("The form has expired; open the link from your email again.", error: true), status: .forbidden)
        }
        guard let (user, purpose) = try await identity.accounts.account(forLink: token) else {
            return Page.html("Link not valid", Page.message(Self.expired, error: true, link: ("/account/reset", "Ask for a new link")), status: .notFound)
        }
        let retry = { (message: String) -> Response in
            Page.html(Self.title(purpose), Page.setPassword(csrf: s.csrf, token: token, email: user.email, purpose: purpose, message: message), status: .badRequest)
        }
        let password = form["password"] ?? ""
        guard password == form["confirm"] ?? "" else { return retry("The two passwords are not the same.") }
        do {
            guard let (done, used) = try await identity.accounts.setPassword(link: token, password: password) else {
                return Page.html("Link not valid", Page.message(Self.expired, error: true), status: .notFound)
            }
            await audit.record("password-set", context, agent: done.reference, role: done.role.rawValue, success: true, code: used.rawValue)
            try await identity.sessions.destroy(hash: s.idHash)
            return Page.html(
                "Password set", Page.message("Your password is set. Sign in with your email address and the new password.", link: ("/login", "Sign in")),
                cookie: Cookies.clear(secure: urls.isHTTPS(request)))
        } catch let error as IdentityError {
            return retry(error.message + ".")
        }
    }
}
