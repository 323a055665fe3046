import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity

/// The sign-in, MFA and consent pages: mustache templates in `Templates/` (every value escaped
/// by the template engine), in HealthHub's page frame. Plain HTML forms, no script.
package enum Page {
    /// The snapshot tests render every template, so a broken one cannot ship.
    static let templates = try! PageTemplates(folder: Bundle.module.url(forResource: "Templates", withExtension: nil)!)

    /// A page in HealthHub's frame (see `HTMLPage`); `body` is one of the renderings below.
    package static func html(_ title: String, _ body: String, status: HTTPResponse.Status = .ok, cookie: String? = nil, formTarget: String? = nil) -> Response {
        HTMLPage.response(title, body, status: status, cookie: cookie, formTarget: formTarget)
    }

    static func render(_ template: String, _ values: [String: Any]) -> String {
        (try? templates.render(template, values)) ?? ""
    }

    /// The values of a form's hidden fields, in order.
    static func hidden(_ fields: [(String, String)]) -> [[String: String]] {
        fields.map { ["name": $0.0, "value": $0.1] }
    }

    /// The values every form page takes: its hidden fields and, when there is one, the error.
    static func form(_ fields: [(String, String)], message: String?) -> [String: Any] {
        var values: [String: Any] = ["fields": hidden(fields)]
        if let message { values["message"] = message }
        return values
    }

    package static func login(csrf: String, next: String, message: String?) -> String {
        render("login", form([("csrf", csrf), ("next", next)], message: message))
    }

    package static func mfa(csrf: String, next: String, message: String?) -> String {
        render("mfa", form([("csrf", csrf), ("next", next)], message: message))
    }

    package static func enrolmentCode(csrf: String, next: String, message: String?) -> String {
        render("enrolment-code", form([("csrf", csrf), ("next", next)], message: message))
    }

    package static func enrol(csrf: String, next: String, enrolmentCode: String, uri: String, secret: String, message: String?) -> String {
        var values = form([("csrf", csrf), ("next", next), ("enrolment_code", enrolmentCode)], message: message)
        values["uri"] = uri
        values["secret"] = secret
        return render("enrol", values)
    }

    package static func recoveryCodes(_ codes: [String], next: String) -> String {
        render("recovery-codes", ["codes": codes, "next": next])
    }

    /// The consent question: which application, for whom, with which scopes; a practitioner
    /// launching for a patient also names the patient.
    package static func consent(client: String, email: String, scopes: [String], fields: [(String, String)], needsPatient: Bool) -> String {
        render("consent", ["client": client, "email": email, "scopes": scopes, "fields": hidden(fields), "needsPatient": needsPatient])
    }

    /// One sentence, optionally as an error and with a link after it.
    package static func message(_ text: String, error: Bool = false, link: (href: String, label: String)? = nil) -> String {
        var values: [String: Any] = ["text": text, "error": error]
        if let link { values["link"] = ["href": link.href, "label": link.label] }
        return render("message", values)
    }
}

extension Page {
    package static func resetRequest(csrf: String, message: String?) -> String {
        render("reset-request", form([("csrf", csrf)], message: message))
    }

    /// The new-password form of an account link (an invitation or a reset).
    package static func setPassword(csrf: String, token: String, email: String, purpose: AccountLink, message: String?) -> String {
        var values = form([("csrf", csrf), ("token", token)], message: message)
        values["email"] = email
        values["lead"] =
            purpose == .invitation
            ? "Welcome to HealthHub. Choose the password of your account; you sign in with it and your email address."
            : "Choose a new password. Every device signed in to your account is signed out."
        return render("set-password", values)
    }
}
