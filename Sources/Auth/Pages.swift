import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore

/// The server-rendered pages (sign-in, consent, status): plain HTML forms, no script, every
/// value escaped.
package enum Page {
    package static func escape(_ text: String) -> String { HTMLText.escape(text) }

    /// A page in HealthHub's frame (see `HTMLPage`).
    package static func html(_ title: String, _ body: String, status: HTTPResponse.Status = .ok, cookie: String? = nil, formTarget: String? = nil) -> Response {
        HTMLPage.response(title, body, status: status, cookie: cookie, formTarget: formTarget)
    }

    static func hidden(_ fields: [(String, String)]) -> String {
        fields.map { "<input type=\"hidden\" name=\"\(escape($0.0))\" value=\"\(escape($0.1))\">" }.joined()
    }

    static func error(_ message: String?) -> String {
        message.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
    }

    static func login(csrf: String, next: String, message: String?) -> String {
        """
        \(error(message))<form method="post" action="/login">\(hidden([("csrf", csrf), ("next", next)]))
        <label for="email">Email</label><input id="email" type="email" name="email" autocomplete="username" required>
        <label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button></form>
        """
    }

    static func mfa(csrf: String, next: String, message: String?) -> String {
        """
        \(error(message))<form method="post" action="/login/mfa">\(hidden([("csrf", csrf), ("next", next)]))
        <label for="code">Code from your authenticator app, or a recovery code</label>
        <input id="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Verify</button></form>
        """
    }

    static func enrolmentCode(csrf: String, next: String, message: String?) -> String {
        """
        \(error(message))<p>Your account needs a second factor. Enter the one-time enrolment code your administrator gave
        you (<code>healthhub users enrolment-code</code>) to set up your authenticator app.</p>
        <form method="post" action="/login/enrol">\(hidden([("csrf", csrf), ("next", next)]))
        <label for="enrolment_code">Enrolment code</label><input id="enrolment_code" type="text" name="enrolment_code" autocomplete="off" required>
        <button type="submit">Continue</button></form>
        """
    }

    static func enrol(csrf: String, next: String, enrolmentCode: String, uri: String, secret: String, message: String?) -> String {
        """
        \(error(message))<p>Add HealthHub to an authenticator app with this link
        or by typing the key, then enter the code it shows.</p>
        <p><a href="\(escape(uri))">Open in authenticator app</a></p><p>Key: <code>\(escape(secret))</code></p>
        <p class="note">Enrolment URI: <code>\(escape(uri))</code></p>
        <form method="post" action="/login/enrol">\(hidden([("csrf", csrf), ("next", next), ("enrolment_code", enrolmentCode)]))
        <label for="code">Code</label><input id="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Turn on two-factor sign-in</button></form>
        """
    }

    static func recoveryCodes(_ codes: [String], next: String) -> String {
        """
        <p>Two-factor sign-in is on. Keep these recovery codes somewhere safe: each works once if you lose your
        authenticator. They are not shown again.</p><ul class="codes">\(codes.map { "<li>\(escape($0))</li>" }.joined())</ul>
        <p><a href="\(escape(next))">Continue</a></p>
        """
    }
}
