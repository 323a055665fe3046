import Foundation
import Kernel
import NIOCore
import NIOPosix
import NIOSSL

/// Email over SMTP: `smtp://relay.example.org:25` (a relay on the hospital network, no
/// authentication) or `smtps://user:password@mail.example.org:465` (implicit TLS, then AUTH
/// PLAIN). Credentials are never sent without TLS. Our own small client: the exchange is six
/// commands, and it keeps a mail library out of the build.
package struct SMTPChannel: AlarmChannel {
    package struct Settings: Sendable, Equatable {
        package var host: String
        package var port: Int
        package var tls: Bool
        package var username: String?
        package var password: String?
        package var from: String
        package var to: [String]
    }

    package let settings: Settings
    let timeout: Duration

    package var name: String { "email" }

    package enum SMTPError: Error, Equatable, CustomStringConvertible {
        case invalidURL(String)
        case unexpectedReply(command: String, reply: String)
        case closed
        case timedOut

        package var description: String {
            switch self {
            case .invalidURL(let why): "Invalid SMTP URL: \(why)"
            case .unexpectedReply(let command, let reply): "SMTP server answered \(command) with \(reply.prefix(120))"
            case .closed: "SMTP server closed the connection"
            case .timedOut: "SMTP exchange timed out"
            }
        }
    }

    /// `url`: `smtp://host[:port]` or `smtps://[user:password@]host[:port]`.
    package init(url: String, from: String, to: [String], timeout: Duration = .seconds(20)) throws {
        guard let c = URLComponents(string: url), let scheme = c.scheme, ["smtp", "smtps"].contains(scheme), let host = c.host, !host.isEmpty else {
            throw SMTPError.invalidURL("expected smtp://host[:port] or smtps://user:password@host[:port]")
        }
        let tls = scheme == "smtps"
        if c.user != nil && !tls { throw SMTPError.invalidURL("credentials need smtps:// (TLS)") }
        for address in [from] + to where !Self.isAddress(address) { throw SMTPError.invalidURL("not an email address: \(address)") }
        guard !to.isEmpty else { throw SMTPError.invalidURL("no recipients") }
        settings = Settings(
            host: host, port: c.port ?? (tls ? 465 : 25), tls: tls, username: c.user?.removingPercentEncoding,
            password: c.password?.removingPercentEncoding, from: from, to: to)
        self.timeout = timeout
    }

    static func isAddress(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !s.contains(where: { $0.isWhitespace || "<>\r\n".contains($0) })
    }

    package func deliver(_ notification: AlarmNotification) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await exchange(message(notification)) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SMTPError.timedOut
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// The RFC 5322 message, CRLF line ends, dot-stuffed, ending with the lone dot.
    func message(_ n: AlarmNotification) -> String {
        let subject = n.headline.filter { $0 != "\r" && $0 != "\n" }
        let date = DateFormatter()
        date.locale = Locale(identifier: "en_US_POSIX")
        date.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        var body = [
            "Alarm: \(n.alarm)", "Status: \(n.status)", "Severity: \(n.severity)", "Summary: \(n.summary)",
            "Value: \(n.value.map(AlarmNotification.format) ?? "none")", "At: \(n.at)", "Instance: \(n.instance)",
        ]
        if let s = n.firingSeconds { body.append("Was firing for: \(Int(s)) s") }
        // One line per field: no value may end the message early or start a command.
        body = body.map { $0.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let lines =
            [
                "From: HealthHub alarms <\(settings.from)>", "To: \(settings.to.map { "<\($0)>" }.joined(separator: ", "))",
                "Subject: \(subject)", "Date: \(date.string(from: Now.date))",
                "Message-ID: <\(UUID().uuidString.lowercased())@healthhub>", "MIME-Version: 1.0",
                "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
            ] + body
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    private func exchange(_ message: String) async throws {
        let settings = settings
        let sslContext = settings.tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: settings.host))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var replies = ReplyReader(inbound.makeAsyncIterator())
            func command(_ line: String?, expect codes: Set<Int>, name: String) async throws {
                if let line { try await outbound.write(ByteBuffer(string: line + "\r\n")) }
                let (code, text) = try await replies.next()
                guard codes.contains(code) else { throw SMTPError.unexpectedReply(command: name, reply: "\(code) \(text)") }
            }
            try await command(nil, expect: [220], name: "greeting")
            try await command("EHLO healthhub", expect: [250], name: "EHLO")
            if let user = settings.username {
                let token = Data("\0\(user)\0\(settings.password ?? "")".utf8).base64EncodedString()
                try await command("AUTH PLAIN \(token)", expect: [235], name: "AUTH")
            }
            try await command("MAIL FROM:<\(settings.from)>", expect: [250], name: "MAIL FROM")
            for to in settings.to { try await command("RCPT TO:<\(to)>", expect: [250, 251], name: "RCPT TO") }
            try await command("DATA", expect: [354], name: "DATA")
            try await outbound.write(ByteBuffer(string: message))
            try await command(nil, expect: [250], name: "message")
            try? await command("QUIT", expect: [221], name: "QUIT")
        }
    }

    /// Reads SMTP replies (`250-more`, `250 last`) from the byte stream.
    struct ReplyReader {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        var pending = ""

        init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

        mutating func line() async throws -> String {
            while true {
                if let r = pending.range(of: "\r\n") {
                    let line = String(pending[..<r.lowerBound])
                    pending.removeSubrange(..<r.upperBound)
                    return line
                }
                guard pending.utf8.count < 64 * 1024, let chunk = try await iterator.next() else { throw SMTPError.closed }
                pending += String(buffer: chunk)
            }
        }

        mutating func next() async throws -> (Int, String) {
            var text: [String] = []
            while true {
                let l = try await line()
                guard l.utf8.count >= 3, let code = Int(l.prefix(3)) else { throw SMTPError.unexpectedReply(command: "reply", reply: l) }
                text.append(String(l.dropFirst(4)))
                if l.count == 3 || l.dropFirst(3).first == " " { return (code, text.joined(separator: " ")) }
            }
        }
    }
}
