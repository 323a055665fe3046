import Kernel

/// The FHIR R4 primitive data types and hand-written scanners for their lexical forms
/// (equivalent to the regular expressions of the R4 specification, plus calendar checks
/// for dates). Scanners work on UTF-8 bytes and never allocate.
package enum FHIRPrimitive: UInt8, Sendable, CaseIterable {
    case boolean, integer, positiveInt, unsignedInt, decimal
    case string, markdown, id, code
    case date, dateTime, instant, time
    case uri, url, canonical, oid, uuid
    case base64Binary, xhtml

    package init?(typeCode: String) {
        switch typeCode {
        case "boolean": self = .boolean
        case "integer": self = .integer
        case "positiveInt": self = .positiveInt
        case "unsignedInt": self = .unsignedInt
        case "decimal": self = .decimal
        case "string": self = .string
        case "markdown": self = .markdown
        case "id": self = .id
        case "code": self = .code
        case "date": self = .date
        case "dateTime": self = .dateTime
        case "instant": self = .instant
        case "time": self = .time
        case "uri": self = .uri
        case "url": self = .url
        case "canonical": self = .canonical
        case "oid": self = .oid
        case "uuid": self = .uuid
        case "base64Binary": self = .base64Binary
        case "xhtml": self = .xhtml
        default: return nil
        }
    }

    /// The FHIR type code.
    package var typeCode: String {
        switch self {
        case .boolean: "boolean"
        case .integer: "integer"
        case .positiveInt: "positiveInt"
        case .unsignedInt: "unsignedInt"
        case .decimal: "decimal"
        case .string: "string"
        case .markdown: "markdown"
        case .id: "id"
        case .code: "code"
        case .date: "date"
        case .dateTime: "dateTime"
        case .instant: "instant"
        case .time: "time"
        case .uri: "uri"
        case .url: "url"
        case .canonical: "canonical"
        case .oid: "oid"
        case .uuid: "uuid"
        case .base64Binary: "base64Binary"
        case .xhtml: "xhtml"
        }
    }

    /// Whether FHIR JSON represents the type as a JSON string (all but boolean and the numbers).
    package var isJSONString: Bool {
        switch self {
        case .boolean, .integer, .positiveInt, .unsignedInt, .decimal: false
        default: true
        }
    }

    /// Checks the lexical form of a string-valued primitive (must not be called for booleans
    /// and numbers). Empty strings are never valid.
    package func isValidString(_ value: String) -> Bool {
        if value.isEmpty { return false }
        return FHIRFormat.withUTF8(value) { b in
            switch self {
            case .string, .markdown: FHIRFormat.isString(b)
            case .id: FHIRFormat.isID(b)
            case .code: FHIRFormat.isCode(b)
            case .date: FHIRFormat.isDate(b)
            case .dateTime: FHIRFormat.isDateTime(b)
            case .instant: FHIRFormat.isInstant(b)
            case .time: FHIRFormat.isTime(b)
            case .uri, .url, .canonical: FHIRFormat.isURI(b)
            case .oid: FHIRFormat.isOID(b)
            case .uuid: FHIRFormat.isUUID(b)
            case .base64Binary: FHIRFormat.isBase64(b)
            case .xhtml: FHIRFormat.isXHTML(b)
            case .boolean, .integer, .positiveInt, .unsignedInt, .decimal: false
            }
        }
    }

    /// Checks the literal text of a JSON number for integer types (decimal accepts any JSON number).
    package func isValidNumber(_ text: String) -> Bool {
        switch self {
        case .decimal: return true
        case .integer: return FHIRFormat.integerValue(text).map { $0 >= -2_147_483_648 && $0 <= 2_147_483_647 } ?? false
        case .positiveInt: return FHIRFormat.integerValue(text).map { $0 >= 1 && $0 <= 2_147_483_647 } ?? false
        case .unsignedInt: return FHIRFormat.integerValue(text).map { $0 >= 0 && $0 <= 2_147_483_647 } ?? false
        default: return false
        }
    }
}

/// Byte-level scanners for FHIR lexical forms.
package enum FHIRFormat {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    static let maxStringBytes = 1_048_576

    @inline(__always)
    static func withUTF8<R>(_ s: String, _ body: (Bytes) -> R) -> R {
        if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
        var copy = s
        return copy.withUTF8(body)
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
    @inline(__always) static func digit(_ c: UInt8) -> Int { Int(c &- 0x30) }
    /// `\s` of the specification's regular expressions.
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C
    }
    @inline(__always) static func isIDChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E: true
        default: false
        }
    }

    // MARK: Strings

    /// string / markdown: `[ \r\n\t\S]+`, no control characters other than tab/CR/LF, at most 1 MiB.
    static func isString(_ b: Bytes) -> Bool {
        guard !b.isEmpty, b.count <= maxStringBytes else { return false }
        for c in b where c < 0x20 {
            if c != 0x09 && c != 0x0A && c != 0x0D { return false }
        }
        return true
    }

    /// id: `[A-Za-z0-9\-\.]{1,64}`.
    static func isID(_ b: Bytes) -> Bool {
        guard b.count >= 1, b.count <= 64 else { return false }
        for c in b where !isIDChar(c) { return false }
        return true
    }

    /// code: `[^\s]+(\s[^\s]+)*` — no leading, trailing or repeated whitespace.
    static func isCode(_ b: Bytes) -> Bool {
        guard let first = b.first, let last = b.last, !isSpace(first), !isSpace(last) else { return false }
        var previousSpace = false
        for c in b {
            if isSpace(c) {
                if previousSpace { return false }
                previousSpace = true
            } else {
                if c < 0x20 { return false }
                previousSpace = false
            }
        }
        return true
    }

    /// uri / url / canonical: `\S*` (non-empty in JSON).
    static func isURI(_ b: Bytes) -> Bool {
        guard !b.isEmpty else { return false }
        for c in b where c <= 0x20 || c == 0x7F { return false }
        return true
    }

    /// oid: `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`.
    static func isOID(_ b: Bytes) -> Bool {
        guard hasPrefix(b, "urn:oid:") else { return false }
        return isOIDBody(b, from: 8)
    }

    static func isOIDBody(_ b: Bytes, from start: Int) -> Bool {
        var i = start
        guard i < b.count, b[i] >= 0x30, b[i] <= 0x32 else { return false }
        i += 1
        var arcs = 0
        while i < b.count {
            guard b[i] == UInt8(ascii: "."), i + 1 < b.count, isDigit(b[i + 1]) else { return false }
            i += 1
            if b[i] == UInt8(ascii: "0") {
                i += 1
                if i < b.count, isDigit(b[i]) { return false }
            } else {
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            arcs += 1
        }
        return arcs >= 1
    }

    /// uuid: `urn:uuid:` followed by a lower-case 8-4-4-4-12 hex UUID.
    static func isUUID(_ b: Bytes) -> Bool {
        guard b.count == 45, hasPrefix(b, "urn:uuid:") else { return false }
        return isUUIDBody(b, from: 9)
    }

    static func isUUIDBody(_ b: Bytes, from start: Int) -> Bool {
        guard b.count - start == 36 else { return false }
        for k in 0..<36 {
            let c = b[start + k]
            if k == 8 || k == 13 || k == 18 || k == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !(isDigit(c) || (c >= 0x61 && c <= 0x66)) {
                return false
            }
        }
        return true
    }

    /// base64Binary: `(\s*([0-9a-zA-Z\+/=]){4}\s*)+` with padding only at the end.
    static func isBase64(_ b: Bytes) -> Bool {
        var count = 0
        var padding = 0
        for c in b {
            switch c {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding > 0 { return false }
                count += 1
            case UInt8(ascii: "="):
                padding += 1
                if padding > 2 { return false }
                count += 1
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C:
                continue
            default:
                return false
            }
        }
        return count > 0 && count % 4 == 0
    }

    /// xhtml: minimal structural check — an XHTML `div` element.
    static func isXHTML(_ b: Bytes) -> Bool {
        var start = 0
        var end = b.count
        while start < end, isSpace(b[start]) { start += 1 }
        while end > start, isSpace(b[end - 1]) { end -= 1 }
        guard end - start >= 6, b[start] == UInt8(ascii: "<"), b[start + 1] == UInt8(ascii: "d"),
            b[start + 2] == UInt8(ascii: "i"), b[start + 3] == UInt8(ascii: "v"), b[end - 1] == UInt8(ascii: ">")
        else { return false }
        let next = b[start + 4]
        return next == UInt8(ascii: ">") || next == UInt8(ascii: "/") || isSpace(next)
    }

    static func hasPrefix(_ b: Bytes, _ prefix: StaticString, at offset: Int = 0) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard b.count - offset >= n else { return false }
        let p = prefix.utf8Start
        for k in 0..<n where b[offset + k] != p[k] { return false }
        return true
    }

    // MARK: Numbers

    /// The value of a JSON number written as an integer (`-?(0|[1-9][0-9]*)`), nil for
    /// fractions, exponents or more than 12 digits.
    static func integerValue(_ text: String) -> Int64? {
        withUTF8(text) { b in
            var i = 0
            var negative = false
            if i < b.count, b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            let digitsStart = i
            guard i < b.count, b.count - i <= 12 else { return nil }
            var v: Int64 = 0
            while i < b.count {
                let c = b[i]
                guard isDigit(c) else { return nil }
                v = v * 10 + Int64(digit(c))
                i += 1
            }
            if b.count - digitsStart > 1, b[digitsStart] == UInt8(ascii: "0") { return nil }
            return negative ? -v : v
        }
    }

    // MARK: Dates and times

    /// Reads `n` digits at `i` as a number, or -1.
    @inline(__always)
    static func number(_ b: Bytes, _ i: Int, _ n: Int) -> Int {
        guard i + n <= b.count else { return -1 }
        var v = 0
        for k in i..<(i + n) {
            let c = b[k]
            guard isDigit(c) else { return -1 }
            v = v * 10 + digit(c)
        }
        return v
    }

    /// Scans `YYYY(-MM(-DD)?)?` from the start; returns the index after it and how many
    /// parts (1 year, 2 month, 3 day) were read, or nil.
    @inline(__always)
    static func scanDate(_ b: Bytes) -> (end: Int, parts: Int)? {
        let year = number(b, 0, 4)
        guard year >= 1 else { return nil }
        guard b.count > 4 else { return (4, 1) }
        guard b[4] == UInt8(ascii: "-") else { return nil }
        let month = number(b, 5, 2)
        guard month >= 1, month <= 12 else { return nil }
        guard b.count > 7 else { return (7, 2) }
        guard b[7] == UInt8(ascii: "-") else { return nil }
        let day = number(b, 8, 2)
        guard day >= 1, day <= CivilCalendar.daysIn(year: year, month: month) else { return nil }
        return (10, 3)
    }

    /// Scans `hh:mm:ss(\.[0-9]+)?` at `i`; returns the index after it or nil.
    @inline(__always)
    static func scanTime(_ b: Bytes, _ i: Int) -> Int? {
        let hour = number(b, i, 2)
        guard hour >= 0, hour <= 23, i + 2 < b.count, b[i + 2] == UInt8(ascii: ":") else { return nil }
        let minute = number(b, i + 3, 2)
        guard minute >= 0, minute <= 59, i + 5 < b.count, b[i + 5] == UInt8(ascii: ":") else { return nil }
        let second = number(b, i + 6, 2)
        guard second >= 0, second <= 60 else { return nil }
        var j = i + 8
        if j < b.count, b[j] == UInt8(ascii: ".") {
            j += 1
            let fractionStart = j
            while j < b.count, isDigit(b[j]) { j += 1 }
            guard j > fractionStart else { return nil }
        }
        return j
    }

    /// Whether the bytes from `i` to the end are a time zone: `Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)`.
    @inline(__always)
    static func isZone(_ b: Bytes, _ i: Int) -> Bool {
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "Z") { return i + 1 == b.count }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), b.count == i + 6, b[i + 3] == UInt8(ascii: ":") else { return false }
        let hour = number(b, i + 1, 2)
        let minute = number(b, i + 4, 2)
        guard hour >= 0, minute >= 0, minute <= 59 else { return false }
        return hour <= 13 || (hour == 14 && minute == 0)
    }

    /// date: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a real calendar date).
    static func isDate(_ b: Bytes) -> Bool {
        guard let (end, _) = scanDate(b) else { return false }
        return end == b.count
    }

    /// dateTime: a date, or a full date with `Thh:mm:ss(.s)` and a time zone.
    static func isDateTime(_ b: Bytes) -> Bool {
        guard let (end, parts) = scanDate(b) else { return false }
        if end == b.count { return true }
        guard parts == 3, b[end] == UInt8(ascii: "T"), let timeEnd = scanTime(b, end + 1) else { return false }
        return isZone(b, timeEnd)
    }

    /// instant: `YYYY-MM-DDThh:mm:ss(.s)` with a mandatory time zone.
    static func isInstant(_ b: Bytes) -> Bool {
        guard let (end, parts) = scanDate(b), parts == 3, end < b.count, b[end] == UInt8(ascii: "T"),
            let timeEnd = scanTime(b, end + 1)
        else { return false }
        return isZone(b, timeEnd)
    }

    /// time: `hh:mm:ss(\.[0-9]+)?`.
    static func isTime(_ b: Bytes) -> Bool {
        guard let end = scanTime(b, 0) else { return false }
        return end == b.count
    }
}
