import Foundation

/// Server-assigned ids: lowercase UUIDs, valid FHIR ids (`[A-Za-z0-9\-\.]{1,64}`).
package enum ResourceID {
    package static func generate() -> String { UUID().uuidString.lowercased() }

    /// Whether `text` is a valid FHIR id.
    package static func isValid(_ text: some StringProtocol) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 64 else { return false }
        return text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E
        }
    }
}
