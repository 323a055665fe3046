import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// HealthHub's server-rendered page frame (sign-in, consent, status, error pages): plain HTML,
/// no script, no outside resources; pages are mustache templates (`PageTemplates`) whose values
/// the template engine escapes.
package enum HTMLPage {
    /// The frame and the error page (`Templates/`); the snapshot tests render every template,
    /// so a broken one cannot ship.
    package static let templates = try! PageTemplates(folder: Bundle.module.url(forResource: "Templates", withExtension: nil)!)

    /// `formTarget`: the one other origin a form of this page may end up at (the consent page's
    /// answer redirects to the application's registered redirect URI); otherwise forms stay here.
    /// `language`: the page's language tag (`<html lang>`).
    package static func response(
        _ title: String, _ body: String, status: HTTPResponse.Status = .ok, cookie: String? = nil, formTarget: String? = nil, language: String = "en"
    ) -> Response {
        let doc = Self.document(title, body, language: language)
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        // Until the gateway sets them for every page: no framing (clickjacking of the consent
        // button), no scripts, no outside resources.
        let formAction = (["'self'"] + (formTarget.flatMap(origin(of:)).map { [$0] } ?? [])).joined(separator: " ")
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action \(formAction); frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: doc)))
    }

    /// The whole document: `title` escaped, `body` (another template's output) as it is.
    package static func document(_ title: String, _ body: String, language: String = "en") -> String {
        (try? templates.render("page", ["title": title, "body": body, "language": language])) ?? ""
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
