import Foundation
import NIOCore

/// A `multipart/form-data` body (RFC 7578), as a page's form with a file sends it: its text
/// fields and its files. Malformed bodies (no boundary, no closing delimiter, a part without a
/// name) are nil, never half a form.
package struct MultipartForm: Sendable {
    package struct File: Sendable {
        package let field: String
        /// The name the browser sent: shown back, never used as a path or to decide the type.
        package let filename: String
        package let bytes: [UInt8]
    }

    package private(set) var fields: [String: String] = [:]
    package private(set) var files: [File] = []

    package init?(_ body: ByteBuffer, contentType: String) {
        guard let boundary = Self.boundary(contentType), !boundary.isEmpty, boundary.count <= 70 else { return nil }
        let bytes = Array(body.readableBytesView)
        let delimiter = Array("--\(boundary)".utf8)
        var positions: [Int] = []
        var i = 0
        while let found = Self.find(delimiter, in: bytes, from: i) {
            positions.append(found)
            i = found + delimiter.count
        }
        guard positions.count >= 2 else { return nil }
        // the last delimiter is the closing one: `--boundary--`
        let last = positions[positions.count - 1] + delimiter.count
        guard last + 2 <= bytes.count, bytes[last] == 0x2D, bytes[last + 1] == 0x2D else { return nil }
        for (start, end) in zip(positions, positions.dropFirst()) {
            // a part: CRLF after the delimiter, headers, a blank line, content, CRLF before the next delimiter
            let from = start + delimiter.count + 2
            let to = end - 2
            guard from <= to, let split = Self.find(Array("\r\n\r\n".utf8), in: bytes, from: from), split <= to else { return nil }
            let headers = String(decoding: bytes[from..<split], as: UTF8.self)
            let content = Array(bytes[(split + 4)..<max(split + 4, to)])
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }),
                let name = Self.parameter("name", in: String(disposition))
            else { return nil }
            if let filename = Self.parameter("filename", in: String(disposition)) {
                if !filename.isEmpty || !content.isEmpty { files.append(File(field: name, filename: filename, bytes: content)) }
            } else {
                fields[name] = String(decoding: content, as: UTF8.self)
            }
        }
    }

    static func boundary(_ contentType: String) -> String? {
        parameter("boundary", in: contentType)
    }

    /// A `key=value` or `key="value"` parameter of a header value.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, kv[0].lowercased() == key else { continue }
            var value = kv[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        let first = needle[0]
        while i <= haystack.count - needle.count {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
