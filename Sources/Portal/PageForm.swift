import Foundation
import Gateway
import Hummingbird
import Kernel

/// The fields of a page's form post (urlencoded; the session middleware has already read the
/// body and checked its CSRF token). An empty field counts as absent.
struct PageForm {
    let values: [String: String]

    static func read(_ request: Request) async throws -> PageForm {
        let type = (request.headers[.contentType] ?? "").lowercased()
        guard type.hasPrefix("application/x-www-form-urlencoded") else { return PageForm(values: [:]) }
        let body = try await request.body.collect(upTo: 1 << 20)
        return PageForm(values: Dictionary(QueryString.decode(String(buffer: body)), uniquingKeysWith: { _, last in last }))
    }

    subscript(_ key: String) -> String? {
        guard let v = values[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }
}
