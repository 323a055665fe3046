import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A minimal SMTP server on loopback that accepts every message and keeps it.
package final class SMTPStandIn: Sendable {
    package struct Message: Sendable {
        package var from = ""
        package var to: [String] = []
        package var data = ""
        package var commands: [String] = []
    }

    let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    let received = Mutex<[Message]>([])
    let task = Mutex<Task<Void, Never>?>(nil)
    package var port: Int { channel.channel.localAddress?.port ?? 0 }
    package var messages: [Message] { received.withLock { $0 } }

    private init(channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) { self.channel = channel }

    package static func start() async throws -> SMTPStandIn {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child) }
            }
        let server = SMTPStandIn(channel: channel)
        server.task.withLock { $0 = Task { await server.serve() } }
        return server
    }

    package func stop() async throws {
        task.withLock { $0 }?.cancel()
        // (the serving task's end may have closed it already: that is not a failure of the test)
        try? await channel.channel.close()
    }

    private func serve() async {
        try? await channel.executeThenClose { inbound in
            for try await connection in inbound {
                try? await connection.executeThenClose { input, output in
                    try await output.write(ByteBuffer(string: "220 stand-in ESMTP\r\n"))
                    var message = Message()
                    var buffer = ""
                    var inData = false
                    for try await chunk in input {
                        buffer += String(buffer: chunk)
                        while let r = buffer.range(of: "\r\n") {
                            let line = String(buffer[..<r.lowerBound])
                            buffer.removeSubrange(..<r.upperBound)
                            if inData {
                                if line == "." {
                                    inData = false
                                    received.withLock { $0.append(message) }
                                    try await output.write(ByteBuffer(string: "250 queued\r\n"))
                                } else {
                                    message.data += (line.hasPrefix("..") ? String(line.dropFirst()) : line) + "\r\n"
                                }
                                continue
                            }
                            message.commands.append(line)
                            let reply: String
                            switch line.prefix(4).uppercased() {
                            case "EHLO": reply = "250-stand-in\r\n250 8BITMIME"
                            case "MAIL": message.from = Self.address(line); reply = "250 ok"
                            case "RCPT": message.to.append(Self.address(line)); reply = "250 ok"
                            case "DATA": inData = true; reply = "354 go on"
                            case "QUIT": try await output.write(ByteBuffer(string: "221 bye\r\n")); return
                            default: reply = "502 not here"
                            }
                            try await output.write(ByteBuffer(string: reply + "\r\n"))
                        }
                    }
                }
            }
        }
    }

    static func address(_ line: String) -> String {
        guard let a = line.firstIndex(of: "<"), let b = line.firstIndex(of: ">"), a < b else { return "" }
        return String(line[line.index(after: a)..<b])
    }
}
