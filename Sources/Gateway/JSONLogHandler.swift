import Foundation
import Glibc
import Kernel
import Logging

/// One JSON object per line on standard error: `ts`, `level`, `label`, `msg` and the metadata
/// (the request id among them). Messages and metadata are written by HealthHub's own code, which
/// never puts resource content, names or identifiers in them.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    let label: String
    /// Takes a finished line and whether it is urgent (warning or worse: write it out now).
    let write: @Sendable (String, Bool) -> Void

    package init(label: String, write: @escaping @Sendable (String, Bool) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    /// Lines to a collector of the caller's (tests), urgency ignored.
    package init(label: String, lines: @escaping @Sendable (String) -> Void) {
        self.init(label: label) { line, _ in lines(line) }
    }

    /// Standard error through `LogBuffer`: batched, urgent lines written at once.
    package static let standardError: @Sendable (String, Bool) -> Void = { line, urgent in
        LogBuffer.standardError.append(line)
        if urgent { LogBuffer.standardError.flush() }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var line = JSONObject([
            ("ts", .string(Self.timestamp(Now.date))), ("level", .string(event.level.rawValue)), ("label", .string(label)), ("msg", .string(event.message.description)),
        ])
        let merged = event.metadata.map { metadata.merging($0, uniquingKeysWith: { $1 }) } ?? metadata
        // `hb.request.id` is Hummingbird's copy of what `request_id` already says.
        for key in merged.keys.sorted() where !["ts", "level", "label", "msg", "hb.request.id"].contains(key) {
            line[key] = Self.json(merged[key]!)
        }
        write(JSON.object(line).serializedString(), event.level >= .warning)
    }

    static func json(_ value: Logger.Metadata.Value) -> JSON {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let a): .array(a.map(json))
        case .dictionary(let d): .object(JSONObject(d.keys.sorted().map { ($0, json(d[$0]!)) }))
        }
    }

    /// `2026-11-27T10:21:26.123Z`.
    static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms / 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(t.tm_year + 1900)-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }
}
