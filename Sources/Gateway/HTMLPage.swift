import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// HealthHub's server-rendered page frame (sign-in, consent, status, error pages): plain HTML,
/// no script, no outside resources, every value escaped by the caller with `HTMLText`.
package enum HTMLPage {
    static func escape(_ text: String) -> String { HTMLText.escape(text) }

    static let style = """
        body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1f23}
        h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=email],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
        button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#b00020;font-weight:600}.note{color:#555}code{word-break:break-all;background:#f3f3f3;padding:.1rem .3rem}
        ul.codes{font-family:monospace;font-size:1.1rem}
        """

    /// `formTarget`: the one other origin a form of this page may end up at (the consent page's
    /// answer redirects to the application's registered redirect URI); otherwise forms stay here.
    package static func response(_ title: String, _ body: String, status: HTTPResponse.Status = .ok, cookie: String? = nil, formTarget: String? = nil) -> Response {
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
    package static func origin(of url: String) -> String? {
        guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(),
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        guard ["http", "https"].contains(scheme) else { return scheme + ":" }
        guard let host = u.host, !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }) else { return nil }
        return "\(scheme)://\(host)" + (u.port.map { ":\($0)" } ?? "")
    }
}
