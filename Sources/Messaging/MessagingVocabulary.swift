import Foundation
import Kernel

/// HealthHub's names for secure messaging. A message is a FHIR `Communication` about one patient
/// (`subject`), sent by the patient or a practitioner (`sender`), carrying HealthHub's message
/// type (`category`). A thread is its first message; the others name it in `partOf`.
package enum MessagingVocabulary {
    package static let typeSystem = "https://healthhub.dev/fhir/CodeSystem/message-type"

    /// The kinds of thread a patient can start.
    package enum Kind: String, Sendable, CaseIterable {
        case general
        case refill
        case appointment

        package var display: String {
            switch self {
            case .general: "General question"
            case .refill: "Refill request"
            case .appointment: "Appointment question"
            }
        }
    }

    /// The message type of a Communication, when it is one of HealthHub's messages.
    package static func kind(of communication: JSONObject) -> Kind? {
        for category in communication["category"]?.arrayValue ?? [] {
            for coding in category["coding"]?.arrayValue ?? [] where coding["system"]?.stringValue == typeSystem {
                if let kind = coding["code"]?.stringValue.flatMap(Kind.init(rawValue:)) { return kind }
            }
        }
        return nil
    }

    /// Whether a Communication starts a thread: one of HealthHub's messages, part of no other.
    package static func startsThread(_ communication: JSONObject) -> Bool {
        kind(of: communication) != nil && communication["partOf"] == nil
    }

    /// The id of the thread a message belongs to: its `partOf` Communication, or itself.
    package static func thread(of communication: JSONObject, id: String) -> String {
        let parent = (communication["partOf"]?.arrayValue ?? []).compactMap { $0["reference"]?.stringValue }.first { $0.hasPrefix("Communication/") }
        return parent.map { String($0.dropFirst("Communication/".count)) } ?? id
    }

    /// `Patient/<id>`, `RelatedPerson/<id>` (a proxy) or `Practitioner/<id>` of the sender.
    package static func sender(of communication: JSONObject) -> String? {
        communication["sender"]?["reference"]?.stringValue
    }

    /// Whether an agent is a person who signs their own messages (not a backend service, an
    /// admin or HealthHub).
    package static func isPerson(_ agent: String) -> Bool {
        agent.hasPrefix("Patient/") || agent.hasPrefix("RelatedPerson/") || agent.hasPrefix("Practitioner/")
    }

    /// Whether a sender writes for the patient (the patient or a proxy), not for the practice.
    package static func isPatientSide(_ sender: String) -> Bool {
        sender.hasPrefix("Patient/") || sender.hasPrefix("RelatedPerson/")
    }

    package static func patient(of communication: JSONObject) -> String? {
        communication["subject"]?["reference"]?.stringValue.flatMap { $0.hasPrefix("Patient/") ? String($0.dropFirst(8)) : nil }
    }
}

/// What an attachment may be: images and PDFs, recognised by their first bytes (never by the
/// file's name or the type the browser claims), up to a configured size.
package enum AttachmentCheck {
    /// The content type the bytes are, or nil for anything else.
    package static func contentType(of bytes: [UInt8]) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool { bytes.count >= offset + magic.count && Array(bytes[offset..<(offset + magic.count)]) == magic }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return "image/gif" }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "image/webp" }
        if starts(Array("%PDF-".utf8)) { return "application/pdf" }
        return nil
    }
}
