import Foundation
import Kernel
import NIOCore
import NIOPosix
import NIOSSL

/// One plain-text email.
package struct Mail: Sendable, Equatable {
    package var fromName: String
    package var from: String
    package var to: [String]
    package var subject: String
    package var lines: [String]

    package init(fromName: String, from: String, to: [String], subject: String, lines: [String]) {
        self.fromName = fromName
        self.from = from
        self.to = to
        self.subject = subject
        self.lines = lines
    }

    /// The RFC 5322 message, CRLF line ends, dot-stuffed, ending with the lone dot. No value can
    /// end the message early, add a header or start a command: line breaks inside the subject
    /// and the lines become spaces.
    package var message: String {
        func flat(_ s: String) -> String { s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let date = DateFormatter()
        date.locale = Locale(identifier: "en_US_POSIX")
        date.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let head = [
            "From: \(flat(fromName)) <\(from)>", "To: \(to.map { "<\($0)>" }.joined(separator: ", "))",
            "Subject: \(flat(subject))", "Date: \(date.string(from: Now.date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@healthhub>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
        ]
        return (head + lines.map(flat)).map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    /// A plain address (`name@host.tld`), nothing that could break a header or a command.
    /// The first usable email address of a FHIR `telecom` list (a Patient's or a
    /// Practitioner's), for notifications.
    package static func address(inTelecom telecom: [JSON]) -> String? {
        telecom.first { $0["system"]?.stringValue == "email" }?["value"]?.stringValue.flatMap { isAddress($0) ? $0 : nil }
    }

    package static func isAddress(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !s.contains(where: { $0.isWhitespace || "<>\r\n,;".contains($0) })
    }
}

/// Email over SMTP: `smtp://relay.example.org:25` (a relay on the hospital network, no
/// authentication) or `smtps://user:password@mail.example.org:465` (implicit TLS, then AUTH
/// PLAIN). Credentials are never sent without TLS. Our own small client: the exchange is six
/// commands, and it keeps a mail library out of the build. Used by the alarms' email channel and
/// by patient notifications.
package struct SMTPClient: Sendable {
    package struct Server: Sendable, Equatable {
        package var host: String
        package var port: Int
        package var tls: Bool
        package var username: String?
        package var password: String?

        package init(host: String, port: Int, tls: Bool, username: String?, password: String?) {
            self.host = host
            self.port = port
            self.tls = tls
            self.username = username
            self.password = password
        }
    }

    package let server: Server
    let timeout: Duration

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
    package init(url: String, timeout: Duration = .seconds(20)) throws {
        guard let c = URLComponents(string: url), let scheme = c.scheme, ["smtp", "smtps"].contains(scheme), let host = c.host, !host.isEmpty else {
            throw SMTPError.invalidURL("expected smtp://host[:port] or smtps://user:password@host[:port]")
        }
        let tls = scheme == "smtps"
        if c.user != nil && !tls { throw SMTPError.invalidURL("credentials need smtps:// (TLS)") }
        server = Server(
            host: host, port: c.port ?? (tls ? 465 : 25), tls: tls, username: c.user?.removingPercentEncoding, password: c.password?.removingPercentEncoding)
        self.timeout = timeout
    }

    /// Sends `mail`, or throws (bad addresses are refused before connecting).
    package func send(_ mail: Mail) async throws {
        for address in [mail.from] + mail.to where !Mail.isAddress(address) { throw SMTPError.invalidURL("not an email address: \(address.prefix(80))") }
        guard !mail.to.isEmpty else { throw SMTPError.invalidURL("no recipients") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await exchange(mail.message, from: mail.from, to: mail.to) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SMTPError.timedOut
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    func exchange(_ message: String, from: String, to: [String]) async throws {
        let settings = server
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
            try await command("MAIL FROM:<\(from)>", expect: [250], name: "MAIL FROM")
            for to in to { try await command("RCPT TO:<\(to)>", expect: [250, 251], name: "RCPT TO") }
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

/// Where notifications are sent from: `HEALTHHUB_SMTP_URL` (as for `SMTPClient`) and
/// `HEALTHHUB_MAIL_FROM`; `HEALTHHUB_SMS_URL` and `HEALTHHUB_SMS_FROM` (as for `SMSClient`).
/// No email, or no text messages, when the URL is not set.
package struct MailConfiguration: Sendable {
    package var smtpURL: String?
    package var from = "healthhub@localhost"
    package var smsURL: String?
    package var smsFrom: String?

    package init() {}

    /// The client, when email is configured.
    package func client() throws -> SMTPClient? { try smtpURL.map { try SMTPClient(url: $0) } }

    /// The SMS client, when text messages are configured.
    package func sms() throws -> SMSClient? { try smsURL.map { try SMSClient(url: $0, from: smsFrom ?? "") } }

    /// Email and SMS as configured (`serve` has checked the settings, so one that cannot be
    /// made means none of it).
    package func notifier() -> Notifier { Notifier(mail: try? client(), from: from, sms: try? sms()) }

    /// Reads and checks the settings; returns the problems found.
    package mutating func read(_ settings: Settings) -> [String] {
        var problems: [String] = []
        smtpURL = settings.value(nil, "SMTP_URL")
        if let url = smtpURL {
            do { _ = try SMTPClient(url: url) } catch { problems.append("HEALTHHUB_SMTP_URL: \(error)") }
        }
        if let address = settings.value(nil, "MAIL_FROM") {
            if Mail.isAddress(address) { from = address } else { problems.append("HEALTHHUB_MAIL_FROM must be an email address") }
        }
        smsURL = settings.value(nil, "SMS_URL")
        smsFrom = settings.value(nil, "SMS_FROM")
        if let url = smsURL {
            do { _ = try SMSClient(url: url, from: smsFrom ?? "") } catch SMSClient.SMSError.badNumber {
                problems.append("HEALTHHUB_SMS_FROM must be the sending number in E.164 form (+15551234567)")
            } catch { problems.append("HEALTHHUB_SMS_URL: \(error)") }
        }
        return problems
    }
}
