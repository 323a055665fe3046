import Kernel

/// Messaging's part of the configuration.
package struct MessagingConfiguration: Sendable {
    /// The largest attachment a message may carry (`HEALTHHUB_ATTACHMENT_MB`, 1–15; 10 by
    /// default: a phone photo or a scanned letter).
    package var attachmentBytes = 10 << 20

    package init() {}

    package mutating func read(_ settings: Settings) -> [String] {
        guard let text = settings.value(nil, "ATTACHMENT_MB") else { return [] }
        guard let n = Int(text), (1...15).contains(n) else { return ["HEALTHHUB_ATTACHMENT_MB must be 1-15"] }
        attachmentBytes = n << 20
        return []
    }
}
