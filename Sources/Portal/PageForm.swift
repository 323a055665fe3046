import Foundation
import Gateway
import Hummingbird
import Kernel

/// The fields of a page's form post, urlencoded or multipart (with its files); the session
/// middleware has already read the body and checked its CSRF token. An empty field counts as
/// absent.
struct PageForm {
    let values: [String: String]
    let files: [MultipartForm.File]

    static func read(_ request: Request, limit: Int = 1 << 20) async throws -> PageForm {
        let type = (request.headers[.contentType] ?? "").lowercased()
        let body = try await request.body.collect(upTo: limit)
        if type.hasPrefix("application/x-www-form-urlencoded") {
            return PageForm(values: Dictionary(QueryString.decode(String(buffer: body)), uniquingKeysWith: { _, last in last }), files: [])
        }
        if type.hasPrefix("multipart/form-data"), let form = MultipartForm(body, contentType: request.headers[.contentType] ?? "") {
            return PageForm(values: form.fields, files: form.files)
        }
        return PageForm(values: [:], files: [])
    }

    subscript(_ key: String) -> String? {
        guard let v = values[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }
}
