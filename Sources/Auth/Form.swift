import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import NIOCore

/// `application/x-www-form-urlencoded` bodies and queries, and cookies.
struct Form: Sendable {
    let values: [String: String]
    let duplicated: Set<String>

    init(_ text: String) {
        var values: [String: String] = [:]
        var duplicated = Set<String>()
        for (k, v) in QueryString.decode(text) {
            if values[k] != nil { duplicated.insert(k) }
            values[k] = v
        }
        self.values = values
        self.duplicated = duplicated
    }

    static func body(_ request: Request) async throws -> Form {
        let type = request.headers[.contentType] ?? ""
        guard type.lowercased().hasPrefix("application/x-www-form-urlencoded") else { return Form("") }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        return Form(String(buffer: buffer))
    }

    subscript(_ key: String) -> String? {
        guard let v = values[key], !v.isEmpty else { return nil }
        return v
    }

    static func encode(_ pairs: [(String, String)]) -> String { QueryString.encode(pairs) }
}

enum Cookies {
    static let session = "hh_session"

    static func value(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if kv.count == 2, kv[0] == name { return kv[1] }
            }
        }
        return nil
    }

    /// The session cookie: HttpOnly, SameSite=Lax (the authorize redirect from an app is a
    /// cross-site top-level GET, which Strict would strip), Secure whenever the server is
    /// reached over https. No Max-Age: the server enforces idle and absolute timeouts.
    static func set(_ value: String, secure: Bool) -> String {
        "\(session)=\(value); Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    static func clear(secure: Bool) -> String {
        "\(session)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0" + (secure ? "; Secure" : "")
    }
}

extension HTTPField.Name {
    static let breakGlassReason = HTTPField.Name("X-Break-Glass-Reason")!
    static let pragma = HTTPField.Name("Pragma")!
}

extension Form {
    static func unescape(_ text: String) -> String {
        (text.replacingOccurrences(of: "+", with: " ")).removingPercentEncoding ?? text
    }
}
