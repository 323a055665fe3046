import Foundation
import Kernel

/// How a patient wants to hear from HealthHub, from their Patient record: its email and mobile
/// `telecom`, and their choices in HealthHub's `notifications` extension (set on the portal's
/// profile page). Email is on unless they turned it off; text messages only when they chose
/// them (an opt-in, as the rules on texting people want).
package struct PatientContact: Sendable, Equatable {
    package static let choicesURL = "https://healthhub.dev/fhir/StructureDefinition/notifications"

    package var email: String?
    package var mobile: String?
    package var wantsEmail: Bool
    package var wantsSMS: Bool

    package init(email: String?, mobile: String?, wantsEmail: Bool, wantsSMS: Bool) {
        self.email = email
        self.mobile = mobile
        self.wantsEmail = wantsEmail
        self.wantsSMS = wantsSMS
    }

    package init(patient: JSON) {
        let telecom = patient["telecom"]?.arrayValue ?? []
        let phones = telecom.filter { $0["system"]?.stringValue == "phone" || $0["system"]?.stringValue == "sms" }
        let mobile = phones.first { $0["use"]?.stringValue == "mobile" || $0["system"]?.stringValue == "sms" } ?? phones.first
        let choices = (patient["extension"]?.arrayValue ?? []).first { $0["url"]?.stringValue == Self.choicesURL }?["extension"]?.arrayValue ?? []
        func choice(_ name: String) -> Bool? { choices.first { $0["url"]?.stringValue == name }?["valueBoolean"]?.boolValue }
        self.init(
            email: Mail.address(inTelecom: telecom), mobile: mobile?["value"]?.stringValue.flatMap(SMSClient.number),
            wantsEmail: choice("email") ?? true, wantsSMS: choice("sms") ?? false)
    }

    /// The extension that records these choices.
    package var choices: JSON {
        [
            "url": .string(Self.choicesURL),
            "extension": [["url": "email", "valueBoolean": .bool(wantsEmail)], ["url": "sms", "valueBoolean": .bool(wantsSMS)]],
        ]
    }
}

/// Sends notifications by the ways that are set up here (SMTP, SMS) and that the person chose.
/// What is sent is the caller's: short, and never clinical.
package struct Notifier: Sendable {
    let mail: SMTPClient?
    let from: String
    let sms: SMSClient?

    package init(mail: SMTPClient?, from: String, sms: SMSClient?) {
        self.mail = mail
        self.from = from
        self.sms = sms
    }

    /// Whether anything can be sent at all (else callers need not even look up an address).
    package var configured: Bool { mail != nil || sms != nil }

    /// Emails a member of staff (they are reached by email only).
    package func email(_ address: String, subject: String, lines: [String]) async throws {
        try await mail?.send(Mail(fromName: "HealthHub", from: from, to: [address], subject: subject, lines: lines))
    }

    /// Some ways reached the person and another failed: `channels` are the ones that did
    /// (with those of earlier attempts), for a retry to skip.
    package struct PartlyDelivered: PartlyDone {
        package let channels: [String]
        package let underlying: any Error
        package var done: [String] { channels }
    }

    /// Tells a patient by email and by text, as they chose; `text` is the SMS (one short
    /// sentence). Returns the channels used. A failure of one channel does not keep the other
    /// from being tried; the first failure is thrown after both (so the job is retried), as
    /// `PartlyDelivered` when a channel got through. The channels in `done` (an earlier
    /// attempt's) are not used again.
    @discardableResult
    package func tell(_ contact: PatientContact, subject: String, lines: [String], text: String, done: Set<String> = []) async throws -> [String] {
        var used: [String] = []
        var failure: (any Error)?
        if let mail, contact.wantsEmail, let address = contact.email, !done.contains("email") {
            do {
                try await mail.send(Mail(fromName: "HealthHub", from: from, to: [address], subject: subject, lines: lines))
                used.append("email")
            } catch { failure = error }
        }
        if let sms, contact.wantsSMS, let number = contact.mobile, !done.contains("sms") {
            do {
                try await sms.send(to: number, "HealthHub: " + text)
                used.append("sms")
            } catch { failure = failure ?? error }
        }
        if let failure {
            let delivered = done.sorted() + used
            throw delivered.isEmpty ? failure : PartlyDelivered(channels: delivered, underlying: failure)
        }
        return used
    }
}
