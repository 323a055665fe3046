import Foundation
import HummingbirdBcrypt

/// The password rules: at least 12 characters, not a common password (the bundled list of the
/// 30,000 most common leaked passwords, also with digits or symbols appended), not one repeated
/// character or short pattern.
package struct PasswordPolicy: Sendable {
    package static let minimumLength = 12
    private let common: Set<Substring>

    package init() throws {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt") else {
            throw IdentityError.internalError("the common-password list is missing from the bundle")
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        common = Set(text.split(separator: "\n"))
    }

    /// Why the password is refused, or nil when it is acceptable. The message never repeats the password.
    package func problem(with password: String) -> String? {
        if password.count < Self.minimumLength {
            return "The password must have at least \(Self.minimumLength) characters"
        }
        if password.count > 256 { return "The password must have at most 256 characters" }
        let lower = password.lowercased()
        if common.contains(Substring(lower)) { return "The password is one of the most common passwords" }
        let base = lower.reversed().drop { !$0.isLetter }.reversed()
        if !base.isEmpty, base.count < lower.count, common.contains(Substring(String(base))) {
            return "The password is a common password with digits or symbols added"
        }
        if Set(lower).count < 4 { return "The password repeats too few different characters" }
        if Self.sequences.contains(where: { $0.contains(lower) }) { return "The password is a run of keyboard, alphabet or digit sequence characters" }
        return nil
    }

    /// Runs people type instead of passwords (`123456789012`, `qwertyuiopasdf`), both ways.
    static let sequences: [String] = {
        let runs = ["0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp"]
        return runs.flatMap { r in [String(repeating: r, count: 3), String(String(repeating: r, count: 3).reversed())] }
    }()
}

/// bcrypt at cost 12 (about a quarter of a second here; raise it as machines get faster).
/// Verification runs on its own two threads, off Swift's cooperative pool: a burst of sign-in
/// attempts queues there instead of stalling every request of the server.
package enum PasswordHasher {
    package static let cost: UInt8 = 12

    static let queue: OperationQueue = {
        let q = OperationQueue()
        q.name = "healthhub.bcrypt"
        q.maxConcurrentOperationCount = 2
        return q
    }()

    package static func hash(_ password: String) -> String { Bcrypt.hash(password, cost: cost) }

    package static func verify(_ password: String, hash: String) async -> Bool {
        await withCheckedContinuation { continuation in
            queue.addOperation { continuation.resume(returning: Bcrypt.verify(password, hash: hash)) }
        }
    }

    /// A hash of a random password, verified against when the account does not exist, so a
    /// failed login takes as long for an unknown email as for a wrong password.
    package static let decoy = Bcrypt.hash(UUID().uuidString, cost: cost)
}
