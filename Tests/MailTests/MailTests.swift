import Foundation
import Mail
import Testing

@Suite struct MailTests {
    @Test func theMessageCannotBeBrokenOutOf() {
        let mail = Mail(
            fromName: "HealthHub\r\nBcc: evil@x.org", from: "noreply@clinic.example.org", to: ["pat@example.org"],
            subject: "Reminder\r\nBcc: evil@x.org", lines: ["Hello", ".", ".hidden", "two\r\n.\r\nMAIL FROM:<x@y.org>"])
        let text = mail.message
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.first == "From: HealthHub  Bcc: evil@x.org <noreply@clinic.example.org>")
        #expect(lines.contains("Subject: Reminder  Bcc: evil@x.org"))
        #expect(!lines.contains { $0.hasPrefix("Bcc:") })
        // dot-stuffed, one line per value, and only the final lone dot ends the message
        #expect(lines.contains("..") && lines.contains("..hidden"))
        #expect(lines.contains("two  .  MAIL FROM:<x@y.org>"))
        #expect(text.hasSuffix("\r\n.\r\n"))
        #expect(lines.filter { $0 == "." }.count == 1)
    }

    @Test func addressesAndURLsAreCheckedBeforeConnecting() async throws {
        for bad in ["", "a", "a@b", "a b@c.org", "<a@b.org>", "a@b.org\r\nRCPT TO:<e@x.org>", "a@b.org,c@d.org"] { #expect(!Mail.isAddress(bad), "\(bad)") }
        #expect(Mail.isAddress("pat.smith+clinic@example.org"))
        #expect(throws: SMTPClient.SMTPError.self) { try SMTPClient(url: "smtp://user:pw@relay.example.org") }
        #expect(throws: SMTPClient.SMTPError.self) { try SMTPClient(url: "https://relay.example.org") }
        let client = try SMTPClient(url: "smtps://u%40h:p%3Ass@mail.example.org")
        #expect(client.server == .init(host: "mail.example.org", port: 465, tls: true, username: "u@h", password: "p:ss"))
        // a bad recipient is refused without any connection (port 9 would refuse it anyway)
        let local = try SMTPClient(url: "smtp://127.0.0.1:9")
        await #expect(throws: SMTPClient.SMTPError.invalidURL("not an email address: x\r\ny")) {
            try await local.send(Mail(fromName: "H", from: "a@b.org", to: ["x\r\ny"], subject: "s", lines: []))
        }
    }
}
