import Foundation
import Kernel
import SQLKit
import Storage

/// The one-time links that set an account's password: an invitation (the account is created
/// without a password anyone knows, and its owner chooses one) and a password reset. The link
/// carries a random token; the table keeps its hash. A token is good for one use, for a while
/// (`lifetime`), and a new one of the same purpose replaces the old. Setting the password
/// through either ends every session and token the account had.
package enum AccountLink: String, Sendable, CaseIterable {
    case invitation
    case reset

    /// An invitation is good for a week, a reset for an hour.
    package var lifetime: Int64 {
        switch self {
        case .invitation: 7 * 24 * 3600
        case .reset: 3600
        }
    }
}

extension AccountStore {
    /// Creates an account whose password nobody knows, and its invitation token.
    /// (`caregiver`: a portal account with no record of its own, for proxy access.)
    package func invite(
        email: String, role: Role, patientID: String?, practitionerID: String?, caregiver: Bool = false, now: Date = Now.date
    ) async throws -> (User, String) {
        // (a random password of the policy's length: replaced when the invitation is accepted)
        let user = try await create(
            email: email, role: role, password: Secrets.token(bytes: 24), patientID: patientID, practitionerID: practitionerID, caregiver: caregiver)
        return (user, try await issueLink(.invitation, userID: user.id, now: now))
    }

    /// A new token for the account, replacing earlier ones of the same purpose.
    package func issueLink(_ purpose: AccountLink, userID: String, now: Date = Now.date) async throws -> String {
        let token = Secrets.token(bytes: 32)
        let expires = Int64(now.timeIntervalSince1970) + purpose.lifetime
        try await database.transaction { tx in
            try await tx.lock("account-link-token:\(userID)")
            try await tx.sql.raw("DELETE FROM hh_account_link WHERE user_id = \(bind: userID) AND purpose = \(bind: purpose.rawValue)").run()
            try await tx.sql.raw(
                """
                INSERT INTO hh_account_link (token_hash, user_id, purpose, expires_at)
                VALUES (\(bind: Secrets.hash(token)), \(bind: userID), \(bind: purpose.rawValue), \(bind: expires))
                """
            ).run()
        }
        return token
    }

    /// A reset link for the enabled account with this email, or nil: no such account, or one
    /// was sent less than a minute ago (so that nobody can flood a person's inbox).
    package func issueReset(email: String, now: Date = Now.date) async throws -> (User, String)? {
        guard let user = try await find(email: email), !user.disabled else { return nil }
        let issuedSince = Int64(now.timeIntervalSince1970) + AccountLink.reset.lifetime - 60
        let recent = try await database.read { db in
            try await db.raw(
                "SELECT 1 AS one FROM hh_account_link WHERE user_id = \(bind: user.id) AND purpose = \(bind: AccountLink.reset.rawValue) AND expires_at > \(bind: issuedSince)"
            ).first()
        }
        guard recent == nil else { return nil }
        return (user, try await issueLink(.reset, userID: user.id, now: now))
    }

    /// The enabled account an unexpired token belongs to, and the token's purpose.
    package func account(forLink token: String, now: Date = Now.date) async throws -> (User, AccountLink)? {
        try await database.read { db in try await Self.link(token, now: now, on: db) }
    }

    static func link(_ token: String, now: Date, on db: any SQLDatabase) async throws -> (User, AccountLink)? {
        guard (20...128).contains(token.count),
            let row = try await db.raw(
                """
                SELECT u.*, l.purpose, l.expires_at
                FROM hh_account_link l JOIN hh_user u ON u.id = l.user_id WHERE l.token_hash = \(bind: Secrets.hash(token))
                """
            ).first(),
            try row.decode(column: "expires_at", as: Int64.self) > Int64(now.timeIntervalSince1970),
            let purpose = AccountLink(rawValue: try row.decode(column: "purpose", as: String.self))
        else { return nil }
        let user = try Self.user(row)
        return user.disabled ? nil : (user, purpose)
    }

    /// Sets the password through a link, which is used up with every other link of the account.
    /// Returns nil when the token is unknown, expired or used; throws `rejected` for a password
    /// the policy refuses (the link stays good). Every session and token of the account ends.
    package func setPassword(link token: String, password: String, now: Date = Now.date) async throws -> (User, AccountLink)? {
        if let problem = policy.problem(with: password) { throw IdentityError.rejected(problem) }
        let hash = PasswordHasher.hash(password)
        return try await database.transaction { tx in
            guard let (user, _) = try await Self.link(token, now: now, on: tx.sql) else { return nil }
            try await tx.lock("account-link-token:\(user.id)")
            // (read again under the lock: two tabs posting the same link set the password once)
            guard let (locked, purpose) = try await Self.link(token, now: now, on: tx.sql) else { return nil }
            try await tx.sql.raw("DELETE FROM hh_account_link WHERE user_id = \(bind: locked.id)").run()
            try await tx.sql.raw("UPDATE hh_user SET password_hash = \(bind: hash), locked_until = 0, lockouts = 0 WHERE id = \(bind: locked.id)").run()
            try await tx.sql.raw("DELETE FROM hh_login_failure WHERE user_id = \(bind: locked.id)").run()
            try await tx.sql.raw("DELETE FROM hh_session WHERE user_id = \(bind: locked.id) OR pending_user_id = \(bind: locked.id)").run()
            try await TokenService.revokeSubject(locked.id, in: tx)
            return (locked, purpose)
        }
    }

    /// The accounts with an invitation not yet accepted (expired ones too: they need a new one).
    package func invited() async throws -> Set<String> {
        try await database.read { db in
            Set(
                try await db.raw("SELECT user_id FROM hh_account_link WHERE purpose = \(bind: AccountLink.invitation.rawValue)").all()
                    .map { try $0.decode(column: "user_id", as: String.self) })
        }
    }
}
