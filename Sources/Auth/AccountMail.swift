import Foundation
import Kernel
import Mail

/// The emails that carry an account link (`AccountLink`): an invitation and a password reset.
/// They hold the link and nothing about the person's health; without SMTP there are none, and
/// the pages say so (an admin then hands the invitation link over).
package struct AccountMail: Sendable {
    let client: SMTPClient?
    let from: String

    package init(client: SMTPClient?, from: String) {
        self.client = client
        self.from = from
    }

    package var configured: Bool { client != nil }

    /// The page a link opens: the token goes in the query, which no audit record, trace or
    /// access log of HealthHub keeps (they name the path only).
    package static func link(_ issuer: String, token: String) -> String { "\(issuer)/account/password?token=\(token)" }

    package func sendInvitation(to address: String, link: String) async throws {
        try await client?.send(
            Mail(
                fromName: "HealthHub", from: from, to: [address], subject: "Your HealthHub account",
                lines: [
                    "You have been invited to HealthHub.", "", "Open this link within 7 days to choose your password:", link, "",
                    "If you did not expect this, you can ignore this message.",
                ]))
    }

    /// To a portal account that was given access to someone's record: whose is not said (a
    /// name is patient data); the record is in the portal after sign-in.
    package func sendProxyNotice(to address: String, signIn: String) async throws {
        try await client?.send(
            Mail(
                fromName: "HealthHub", from: from, to: [address], subject: "You can now see a record in HealthHub",
                lines: [
                    "Someone has given your HealthHub account access to their record.", "",
                    "Sign in and choose \"Switch record\" to see it:", signIn, "", "If you did not expect this, tell the practice.",
                ]))
    }

    package func sendReset(to address: String, link: String) async throws {
        try await client?.send(
            Mail(
                fromName: "HealthHub", from: from, to: [address], subject: "Reset your HealthHub password",
                lines: [
                    "Someone asked to reset the password of your HealthHub account.", "", "Open this link within an hour to choose a new one:", link, "",
                    "If it was not you, ignore this message: your password stays as it is.",
                ]))
    }
}
