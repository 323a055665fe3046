import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore

/// The server-rendered pages (sign-in, consent, status): plain HTML forms, no script, every
/// value escaped.
package enum Page {
    package static func escape(_ text: String) -> String { HTMLText.escape(text) }

    static let style = """
        body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1f23}
        h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=email],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
        button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#b00020;font-weight:600}.note{color:#555}code{word-break:break-all;background:#f3f3f3;padding:.1rem .3rem}
        ul.codes{font-family:monospace;font-size:1.1rem}
        """

    /// `formTarget`: the one other origin a form of this page may end up at (the consent page's
    /// answer redirects to the application's registered redirect URI); otherwise forms stay here.
    package static func html(_ title: String, _ body: String, status: HTTPResponse.Status = .ok, cookie: String? = nil, formTarget: String? = nil) -> Response {
        let doc = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(escape(title)) · HealthHub</title><style>\(style)</style></head><body><h1>\(escape(title))</h1>\(body)</body></html>
            """
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        // Until the gateway sets them for every page: no framing (clickjacking of the consent
        // button), no scripts, no outside resources.
        let formAction = (["'self'"] + (formTarget.flatMap(origin(of:)).map { [$0] } ?? [])).joined(separator: " ")
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action \(formAction); frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: doc)))
    }

    /// The CSP source of a redirect URI: `scheme://host[:port]` of an http(s) URL, or the scheme
    /// alone (`com.example.app:`) for a native app's private-use scheme; nil when malformed.
    static func origin(of url: String) -> String? {
        guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(),
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        guard ["http", "https"].contains(scheme) else { return scheme + ":" }
        guard let host = u.host, !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }) else { return nil }
        return "\(scheme)://\(host)" + (u.port.map { ":\($0)" } ?? "")
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
