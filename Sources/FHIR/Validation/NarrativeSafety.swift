/// FHIR's narrative rules txt-1 and txt-2: a narrative `div` holds basic formatting only: no
/// scripts, forms, frames, objects or other active elements, no event-handler attributes, and no
/// `javascript:`/`vbscript:` URLs (however their letters are spelled with entities or
/// whitespace), so a patient-written narrative cannot run in a clinician's browser.
enum NarrativeSafety {
    /// Elements that are never formatting.
    static let activeElements: Set<String> = [
        "script", "style", "form", "input", "button", "textarea", "select", "option", "base", "link", "meta", "iframe", "frame",
        "frameset", "object", "embed", "applet", "svg", "math", "template", "portal", "audio", "video", "source", "track", "noscript",
    ]
    /// Attributes holding URLs.
    static let urlAttributes: Set<String> = ["href", "src", "xlink:href", "action", "formaction", "background", "poster", "srcset", "cite", "longdesc"]

    /// The first problem of the narrative, or nil when it is safe.
    static func problem(_ html: String) -> String? {
        let b = Array(html.utf8)
        var i = 0
        while i < b.count {
            guard b[i] == UInt8(ascii: "<") else { i += 1; continue }
            i += 1
            if b[i...].starts(with: Array("!--".utf8)) {
                // a comment: skipped whole (browsers ignore it too)
                guard let end = find(Array("-->".utf8), in: b, from: i + 3) else { return "an unterminated comment is not allowed" }
                i = end + 3
                continue
            }
            if i < b.count, b[i] == UInt8(ascii: "!") || b[i] == UInt8(ascii: "?") {
                return "CDATA sections, declarations and processing instructions are not allowed"
            }
            if i < b.count, b[i] == UInt8(ascii: "/") { i += 1 }
            let nameStart = i
            while i < b.count, isNameByte(b[i]) { i += 1 }
            let name = lower(b[nameStart..<i])
            if activeElements.contains(name.split(separator: ":").last.map(String.init) ?? name) {
                return "active elements (script, style, form, frame, object, svg, ...) are not allowed"
            }
            // attributes up to the end of the tag
            while i < b.count, b[i] != UInt8(ascii: ">") {
                if isSpace(b[i]) || b[i] == UInt8(ascii: "/") { i += 1; continue }
                let attrStart = i
                while i < b.count, isNameByte(b[i]) { i += 1 }
                if i == attrStart { i += 1; continue }
                let attr = lower(b[attrStart..<i])
                if attr.hasPrefix("on") { return "event-handler attributes (on...) are not allowed" }
                while i < b.count, isSpace(b[i]) { i += 1 }
                guard i < b.count, b[i] == UInt8(ascii: "=") else { continue }
                i += 1
                while i < b.count, isSpace(b[i]) { i += 1 }
                var value: ArraySlice<UInt8> = []
                if i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") {
                    let quote = b[i]
                    let s = i + 1
                    i = s
                    while i < b.count, b[i] != quote { i += 1 }
                    value = b[s..<min(i, b.count)]
                    i += 1
                } else {
                    let s = i
                    while i < b.count, !isSpace(b[i]), b[i] != UInt8(ascii: ">") { i += 1 }
                    value = b[s..<i]
                }
                if urlAttributes.contains(attr) || attr.hasSuffix(":href") {
                    let plain = scheme(of: value)
                    if ["javascript", "vbscript", "livescript", "mocha"].contains(plain) { return "\(plain): URLs are not allowed" }
                    if plain == "data", !lower(value.prefix(64)).contains("image/") { return "data: URLs other than images are not allowed" }
                }
            }
        }
        return nil
    }

    /// The URL scheme as a browser reads it: entities decoded, whitespace and controls dropped,
    /// lower-cased, up to the first `:`; "" when there is none.
    static func scheme(of value: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var i = value.startIndex
        while i < value.endIndex, out.count < 32 {
            var byte = value[i]
            if byte == UInt8(ascii: "&"), let (code, end) = numericReference(value, at: i) {
                // HTML5 decodes numeric references with or without the `;`, leading zeros and all.
                i = end
                if code < 128 { byte = UInt8(code) } else { continue }
                if byte <= 0x20 || byte == 0x7F { continue }
                if byte == UInt8(ascii: ":") { return String(decoding: out, as: UTF8.self).lowercased() }
                out.append(byte)
                continue
            }
            if byte == UInt8(ascii: "&"), let semicolon = value[i...].prefix(12).firstIndex(of: UInt8(ascii: ";")) {
                let entity = lower(value[(i + 1)..<semicolon])
                if entity.hasPrefix("#x"), let n = UInt32(entity.dropFirst(2), radix: 16), n < 128 {
                    byte = UInt8(n)
                } else if entity.hasPrefix("#"), let n = UInt32(entity.dropFirst()), n < 128 {
                    byte = UInt8(n)
                } else if entity == "colon" {
                    byte = UInt8(ascii: ":")
                } else if entity == "tab" || entity == "newline" {
                    byte = 0x09
                }
                i = semicolon
            }
            i += 1
            if byte <= 0x20 || byte == 0x7F { continue }
            if byte == UInt8(ascii: ":") { return String(decoding: out, as: UTF8.self).lowercased() }
            out.append(byte)
        }
        return ""
    }

    /// `&#106`, `&#0000106;`, `&#x6A`: the code point and the index after the reference (and
    /// its `;`, when there is one); nil when `&` does not start a numeric reference.
    static func numericReference(_ value: ArraySlice<UInt8>, at start: Int) -> (UInt32, Int)? {
        var j = start + 1
        guard j < value.endIndex, value[j] == UInt8(ascii: "#") else { return nil }
        j += 1
        let hex = j < value.endIndex && (value[j] == UInt8(ascii: "x") || value[j] == UInt8(ascii: "X"))
        if hex { j += 1 }
        var code: UInt32 = 0
        var digits = 0
        while j < value.endIndex {
            let c = value[j]
            let d: UInt32? =
                switch c {
                case 0x30...0x39: UInt32(c - 0x30)
                case 0x61...0x66 where hex: UInt32(c - 0x61 + 10)
                case 0x41...0x46 where hex: UInt32(c - 0x41 + 10)
                default: nil
                }
            guard let d else { break }
            code = min(code * (hex ? 16 : 10) + d, 0x110000)
            digits += 1
            j += 1
        }
        guard digits > 0 else { return nil }
        if j < value.endIndex, value[j] == UInt8(ascii: ";") { j += 1 }
        return (code, j)
    }

    static func find(_ needle: [UInt8], in b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + needle.count <= b.count {
            if b[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: ":") || c == UInt8(ascii: "_")
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C }

    static func lower(_ bytes: some Sequence<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
