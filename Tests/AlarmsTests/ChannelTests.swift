import Alarms
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

let quietLogger = Logger(label: "alarms-test") { _ in SwiftLogNoOpLogHandler() }

let firing = AlarmNotification(
    AlarmTransition(
        rule: "High5xxRate", severity: .page, summary: "More than 5% of requests failed with 5xx (5 min)",
        from: .pending, to: .firing, at: 1_800_000_000, value: 0.125, duration: 300), instance: "node-a")

/// A local webhook receiver: answers the first `failures` posts with `status`, then 204, and
/// keeps the bodies it accepted.
final class Receiver: Sendable {
    let state = Mutex<(posts: Int, accepted: [Data])>((0, []))
    var posts: Int { state.withLock { $0.posts } }
    var accepted: [Data] { state.withLock { $0.accepted } }
}

func withWebhookReceiver(
    failures: Int, status: HTTPResponse.Status = .serviceUnavailable,
    _ body: @Sendable (String, Receiver) async throws -> Void
) async throws {
    let receiver = Receiver()
    let state = receiver
    let router = Router()
    router.post("hook") { request, _ -> Response in
        var request = request
        let bytes = try await request.collectBody(upTo: 1 << 20)
        let n = state.state.withLock { s in
            s.posts += 1
            return s.posts
        }
        if n <= failures { return Response(status: status) }
        state.state.withLock { $0.accepted.append(Data(bytes.readableBytesView)) }
        return Response(status: .noContent)
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: quietLogger)
    try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(client.port!)/hook", receiver)
    }
}

@Suite struct ChannelTests {
    @Test func webhookPostsJSONAndIsRetriedWithBackoffUntilTheReceiverTakesIt() async throws {
        try await withWebhookReceiver(failures: 2) { url, state in
            let notifier = AlarmNotifier(channels: [WebhookChannel(url: url)], maxAttempts: 4, backoff: .milliseconds(20), logger: quietLogger)
            let started = ContinuousClock.now
            let result = await notifier.send(firing)
            #expect(result == ["webhook": true])
            #expect(ContinuousClock.now - started >= .milliseconds(60))  // waited 20 + 40 ms between the attempts
            let (posts, accepted) = (state.posts, state.accepted)
            #expect(posts == 3)
            let first = try #require(accepted.first)
            let json = try #require(try JSONSerialization.jsonObject(with: first) as? [String: Any])
            #expect(json["alarm"] as? String == "High5xxRate")
            #expect(json["status"] as? String == "firing")
            #expect(json["severity"] as? String == "page")
            #expect(json["value"] as? Double == 0.125)
            #expect(json["instance"] as? String == "node-a")
            #expect(json["at"] as? String == "2027-01-15T08:00:00Z")
        }
    }

    @Test func aWebhookRefusingThePayloadIsNotRetriedAndADeadOneGivesUp() async throws {
        try await withWebhookReceiver(failures: 100, status: .badRequest) { url, state in
            let notifier = AlarmNotifier(channels: [WebhookChannel(url: url)], maxAttempts: 4, backoff: .milliseconds(5), logger: quietLogger)
            #expect(await notifier.send(firing) == ["webhook": false])
            #expect(state.posts == 1)
        }
        // nothing listens on port 9 of loopback: every attempt fails, then the notifier gives up
        let dead = AlarmNotifier(channels: [WebhookChannel(url: "http://127.0.0.1:9/hook", timeout: .seconds(1))], maxAttempts: 2, backoff: .milliseconds(5), logger: quietLogger)
        #expect(await dead.send(firing) == ["webhook": false])
    }

    @Test func emailGoesThroughALocalSMTPServer() async throws {
        let server = try await SMTPStandIn.start()
        let channel = try SMTPChannel(url: "smtp://127.0.0.1:\(server.port)", from: "alarms@hospital.example.org", to: ["oncall@hospital.example.org", "ops@hospital.example.org"])
        let notifier = AlarmNotifier(channels: [channel, LogChannel(logger: quietLogger)], maxAttempts: 2, backoff: .milliseconds(5), logger: quietLogger)
        #expect(await notifier.send(firing) == ["email": true, "log": true])
        let mail = try #require(server.messages.first)
        #expect(mail.from == "alarms@hospital.example.org")
        #expect(mail.to == ["oncall@hospital.example.org", "ops@hospital.example.org"])
        #expect(mail.data.contains("Subject: [FIRING page] High5xxRate: More than 5% of requests failed with 5xx (5 min) (value 0.125)\r\n"))
        #expect(mail.data.contains("\r\nAlarm: High5xxRate\r\n"))
        #expect(mail.commands.prefix(2) == ["EHLO healthhub", "MAIL FROM:<alarms@hospital.example.org>"])
        try await server.stop()
    }

    @Test func smtpSettingsAreCheckedUpFront() {
        #expect(throws: SMTPChannel.SMTPError.self) { try SMTPChannel(url: "smtp://user:secret@relay.example.org", from: "a@b.org", to: ["c@d.org"]) }
        #expect(throws: SMTPChannel.SMTPError.self) { try SMTPChannel(url: "http://relay.example.org", from: "a@b.org", to: ["c@d.org"]) }
        #expect(throws: SMTPChannel.SMTPError.self) { try SMTPChannel(url: "smtp://relay.example.org", from: "a@b.org", to: []) }
        #expect(throws: SMTPChannel.SMTPError.self) { try SMTPChannel(url: "smtp://relay.example.org", from: "a@b.org", to: ["x\r\nRCPT TO:<evil@x.org>"]) }
        // (the URL's parts are Mail's: MailTests.addressesAndURLsAreCheckedBeforeConnecting)
        #expect((try? SMTPChannel(url: "smtps://alarm%40h.org:p%3Ass@mail.example.org", from: "a@b.org", to: ["c@d.org"])) != nil)
    }
}
