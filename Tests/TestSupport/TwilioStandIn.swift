import Foundation
import Kernel
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local stand-in of Twilio's Messages API, holding the provider's side of the contract that
/// `SMSClient` is tested against: `POST /2010-04-01/Accounts/{sid}/Messages.json`, HTTP Basic
/// authentication with that account's token, a urlencoded form with `To` and `From` in E.164
/// and a `Body` of at most 1,600 characters. It answers as Twilio documents: 201 with the
/// message (`sid` "SM" and 32 hex digits, `status` "queued"), or an error body
/// `{"code", "message", "status"}`: 401 code 20003 (authentication), 400 code 21211 (a bad
/// `To`), 21212 (a bad `From`), 21602 (no `Body`), 21617 (too long), 404 code 20404 (another
/// path).
package final class TwilioStandIn: Sendable {
    package struct Message: Sendable, Equatable {
        package var to: String
        package var from: String
        package var body: String

        package init(to: String, from: String, body: String) {
            self.to = to
            self.from = from
            self.body = body
        }
    }

    package let account: String
    package let token: String
    let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    let received = Mutex<[Message]>([])
    let task = Mutex<Task<Void, Never>?>(nil)
    package var port: Int { channel.channel.localAddress?.port ?? 0 }
    package var messages: [Message] { received.withLock { $0 } }
    /// What `HEALTHHUB_SMS_URL` is to reach it.
    package var url: String { "twilio+http://\(account):\(token)@127.0.0.1:\(port)" }

    private init(account: String, token: String, channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>) {
        self.account = account
        self.token = token
        self.channel = channel
    }

    package static func start(account: String = "AC" + String(repeating: "0f", count: 16), token: String = "stand-in-token") async throws -> TwilioStandIn {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: child)
                }
            }
        let server = TwilioStandIn(account: account, token: token, channel: channel)
        server.task.withLock { $0 = Task { await server.serve() } }
        return server
    }

    package func stop() async throws {
        task.withLock { $0 }?.cancel()
        try? await channel.channel.close()
    }

    private func serve() async {
        try? await channel.executeThenClose { inbound in
            for try await connection in inbound {
                try? await connection.executeThenClose { input, output in
                    var head: HTTPRequestHead?
                    var body = ByteBuffer()
                    for try await part in input {
                        switch part {
                        case .head(let h):
                            head = h
                            body.clear()
                        case .body(var chunk): body.writeBuffer(&chunk)
                        case .end:
                            guard let head else { continue }
                            let (status, reply) = answer(head, String(buffer: body))
                            let bytes = ByteBuffer(bytes: reply.serialized())
                            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(bytes.readableBytes))])
                            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
                            try await output.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
                            try await output.write(.body(.byteBuffer(bytes)))
                            try await output.write(.end(nil))
                        }
                    }
                }
            }
        }
    }

    static func problem(_ status: HTTPResponseStatus, _ code: Int, _ message: String) -> (HTTPResponseStatus, JSON) {
        (status, ["code": .int(code), "message": .string(message), "status": .int(Int(status.code))])
    }

    static func isE164(_ s: String) -> Bool {
        s.hasPrefix("+") && (9...16).contains(s.count) && s.dropFirst().allSatisfy { $0.isASCII && $0.isNumber } && s.dropFirst().first != "0"
    }

    func answer(_ head: HTTPRequestHead, _ body: String) -> (HTTPResponseStatus, JSON) {
        guard head.method == .POST, head.uri == "/2010-04-01/Accounts/\(account)/Messages.json" else {
            return Self.problem(.notFound, 20404, "The requested resource \(head.uri) was not found")
        }
        let expected = "Basic " + Data("\(account):\(token)".utf8).base64EncodedString()
        guard head.headers["Authorization"].first == expected else { return Self.problem(.unauthorized, 20003, "Authenticate") }
        guard head.headers["Content-Type"].first?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            return Self.problem(.badRequest, 21602, "Message body is required.")
        }
        let form = Dictionary(QueryString.decode(body), uniquingKeysWith: { _, last in last })
        guard let to = form["To"], Self.isE164(to) else { return Self.problem(.badRequest, 21211, "Invalid 'To' Phone Number") }
        guard let from = form["From"], Self.isE164(from) else { return Self.problem(.badRequest, 21212, "Invalid 'From' Phone Number") }
        guard let text = form["Body"], !text.isEmpty else { return Self.problem(.badRequest, 21602, "Message body is required.") }
        guard text.count <= 1600 else { return Self.problem(.badRequest, 21617, "The concatenated message body exceeds the 1600 character limit.") }
        received.withLock { $0.append(Message(to: to, from: from, body: text)) }
        let sid = "SM" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        return (.created, ["sid": .string(sid), "status": "queued", "to": .string(to), "from": .string(from), "body": .string(text), "account_sid": .string(account)])
    }
}
