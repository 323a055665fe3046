import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// HealthHub's server-rendered page frame (sign-in, consent, status, portal and console pages):
/// plain HTML that works without script, styled by `/static/healthhub.css` and scripted, where a
/// page is better with a little, only by files under `/static/` (`StaticAssets`), so the CSP
/// has no `unsafe-inline`; pages are mustache templates (`PageTemplates`) whose values the
/// template engine escapes.
package enum HTMLPage {
    /// The frame and the error page (`Templates/`); the snapshot tests render every template,
    /// so a broken one cannot ship.
    package static let templates = try! PageTemplates(folder: Bundle.module.url(forResource: "Templates", withExtension: nil)!)

    /// `formTarget`: the one other origin a form of this page may end up at (the consent page's
    /// answer redirects to the application's registered redirect URI); otherwise forms stay here.
    /// `language`: the page's language tag (`<html lang>`). `frame`: the signed-in pages'
    /// navigation and width.
    package static func response(
        _ title: String, _ body: String, status: HTTPResponse.Status = .ok, cookie: String? = nil, formTarget: String? = nil, language: String = "en",
        frame: Frame = Frame()
    ) -> Response {
        let doc = Self.document(title, body, language: language, frame: frame)
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        // Until the gateway sets them for every page: no framing (clickjacking of the consent
        // button), no scripts, no outside resources.
        let formAction = (["'self'"] + (formTarget.flatMap(origin(of:)).map { [$0] } ?? [])).joined(separator: " ")
        headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; form-action \(formAction); frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        // Forms then carry this server's `Origin` (with `no-referrer` a browser sends
        // `Origin: null`), which the signed-in pages check; other sites still learn nothing.
        headers[.referrerPolicy] = "same-origin"
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: doc)))
    }

    /// What a signed-in page adds to the frame: its header (another template's output: the
    /// navigation, the account, sign-out), the skip link's text, a wide layout, its scripts.
    package struct Frame: Sendable {
        package var header: String?
        package var skipLink = "Skip to content"
        package var wide = false
        package var scripts: [String] = []

        package init(header: String? = nil, skipLink: String = "Skip to content", wide: Bool = false, scripts: [String] = []) {
            self.header = header
            self.skipLink = skipLink
            self.wide = wide
            self.scripts = scripts
        }
    }

    /// The whole document: `title` escaped, `body` (another template's output) as it is.
    package static func document(_ title: String, _ body: String, language: String = "en", frame: Frame = Frame()) -> String {
        var values: [String: Any] = ["title": title, "body": body, "language": language, "wide": frame.wide, "skip": frame.skipLink, "scripts": frame.scripts]
        if let header = frame.header { values["header"] = header }
        return (try? templates.render("page", values)) ?? ""
    }

    /// The CSP source of a redirect URI: `scheme://host[:port]` of an http(s) URL, or the scheme
    /// alone (`com.example.app:`) for a native app's private-use scheme; nil when malformed.
    package static func origin(of url: String) -> String? {
        guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(),
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        guard ["http", "https"].contains(scheme) else { return scheme + ":" }
        guard let host = u.host, !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }) else { return nil }
        return "\(scheme)://\(host)" + (u.port.map { ":\($0)" } ?? "")
    }
}
