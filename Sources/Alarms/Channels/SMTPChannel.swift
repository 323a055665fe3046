import Foundation
import Kernel
import Mail

/// Alarm notifications by email, through Mail's SMTP client.
package struct SMTPChannel: AlarmChannel {
    package let client: SMTPClient
    package let from: String
    package let to: [String]

    package var name: String { "email" }

    package typealias SMTPError = SMTPClient.SMTPError

    /// `url`: `smtp://host[:port]` or `smtps://[user:password@]host[:port]`; the addresses are
    /// checked here, so a bad setting fails at start-up.
    package init(url: String, from: String, to: [String], timeout: Duration = .seconds(20)) throws {
        client = try SMTPClient(url: url, timeout: timeout)
        for address in [from] + to where !Mail.isAddress(address) { throw SMTPError.invalidURL("not an email address: \(address)") }
        guard !to.isEmpty else { throw SMTPError.invalidURL("no recipients") }
        self.from = from
        self.to = to
    }

    package func deliver(_ notification: AlarmNotification) async throws {
        try await client.send(mail(notification))
    }

    func mail(_ n: AlarmNotification) -> Mail {
        var body = [
            "Alarm: \(n.alarm)", "Status: \(n.status)", "Severity: \(n.severity)", "Summary: \(n.summary)",
            "Value: \(n.value.map(AlarmNotification.format) ?? "none")", "At: \(n.at)", "Instance: \(n.instance)",
        ]
        if let s = n.firingSeconds { body.append("Was firing for: \(Int(s)) s") }
        return Mail(fromName: "HealthHub alarms", from: from, to: to, subject: n.headline, lines: body)
    }
}
