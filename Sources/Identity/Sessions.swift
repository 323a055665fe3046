import Foundation
import Kernel
import SQLKit
import Storage

/// Web sessions of the login, MFA and consent pages. The cookie holds a random id; the table
/// holds its hash. A session is anonymous (it only carries the CSRF token of the login form),
/// then `pending` (password accepted, second factor due), then signed in. Each step issues a
/// new id, so a session id seen before login is worthless after it.
package struct SessionStore: Sendable {
    let database: any Database
    /// Idle and absolute timeouts.
    package let idleTimeout: Int64
    package let absoluteTimeout: Int64

    package init(database: any Database, idleTimeout: Int64 = 15 * 60 * 1000, absoluteTimeout: Int64 = 8 * 3600 * 1000) {
        self.database = database
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
    }

    package struct Session: Sendable, Equatable {
        package var idHash: String
        package var userID: String?
        package var pendingUserID: String?
        package var csrf: String
        package var createdAt: Int64
        package var lastSeen: Int64
        /// The patient a proxy chose to act for (`ProxyStore`); nil: the account's own record.
        package var actingFor: String? = nil
    }

    /// Starts a session; returns the cookie value and the session.
    package func create(userID: String? = nil, pendingUserID: String? = nil, now: Date = Now.date) async throws -> (String, Session) {
        let id = Secrets.token(bytes: 32)
        let millis = Secrets.nowMillis(now)
        let session = Session(idHash: Secrets.hash(id), userID: userID, pendingUserID: pendingUserID, csrf: Secrets.token(bytes: 24), createdAt: millis, lastSeen: millis)
        try await database.transaction { tx in
            try await tx.sql.raw("DELETE FROM hh_session WHERE last_seen < \(bind: millis - idleTimeout) OR created_at < \(bind: millis - absoluteTimeout)").run()
            try await tx.sql.raw(
                """
                INSERT INTO hh_session (id_hash, user_id, pending_user_id, csrf, created_at, last_seen)
                VALUES (\(bind: session.idHash), \(bind: userID), \(bind: pendingUserID), \(bind: session.csrf), \(bind: millis), \(bind: millis))
                """
            ).run()
        }
        return (id, session)
    }

    /// The live session of a cookie value, or nil (unknown, idle too long, or too old).
    package func load(_ cookie: String, now: Date = Now.date) async throws -> Session? {
        let millis = Secrets.nowMillis(now)
        let hash = Secrets.hash(cookie)
        guard
            let row = try await database.read({ db in
                try await db.raw("SELECT user_id, pending_user_id, csrf, created_at, last_seen, acting_for FROM hh_session WHERE id_hash = \(bind: hash)").first()
            })
        else { return nil }
        let session = Session(
            idHash: hash, userID: try row.decode(column: "user_id", as: String?.self),
            pendingUserID: try row.decode(column: "pending_user_id", as: String?.self),
            csrf: try row.decode(column: "csrf", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self), lastSeen: try row.decode(column: "last_seen", as: Int64.self),
            actingFor: try row.decode(column: "acting_for", as: String?.self))
        if session.lastSeen < millis - idleTimeout || session.createdAt < millis - absoluteTimeout {
            try await destroy(hash: hash)
            return nil
        }
        if millis - session.lastSeen > 30_000 {
            try await database.transaction { tx in try await tx.sql.raw("UPDATE hh_session SET last_seen = \(bind: millis) WHERE id_hash = \(bind: hash)").run() }
        }
        return session
    }

    /// Replaces a session with a new one (new id, new CSRF token) at a change of privilege.
    package func replace(_ old: Session, userID: String?, pendingUserID: String?, now: Date = Now.date) async throws -> (String, Session) {
        try await destroy(hash: old.idHash)
        var (cookie, session) = try await create(userID: userID, pendingUserID: pendingUserID, now: now)
        if userID != nil {
            // The absolute timeout counts from the password step, not from the last replacement.
            session.createdAt = min(session.createdAt, old.createdAt)
            let created = session.createdAt
            let hash = session.idHash
            try await database.transaction { tx in try await tx.sql.raw("UPDATE hh_session SET created_at = \(bind: created) WHERE id_hash = \(bind: hash)").run() }
        }
        return (cookie, session)
    }

    /// Remembers the authorization request a consent page shows (its digest), replacing any
    /// earlier one: the answer to the page is taken for that request only.
    package func showConsent(_ session: Session, request digest: String) async throws {
        let hash = session.idHash
        try await database.transaction { tx in try await tx.sql.raw("UPDATE hh_session SET pending_authorization = \(bind: digest) WHERE id_hash = \(bind: hash)").run() }
    }

    /// Whether `digest` is the request the session's consent page showed; true only once (the
    /// pending request is cleared, whatever the answer).
    package func takeConsent(_ session: Session, request digest: String) async throws -> Bool {
        let hash = session.idHash
        return try await database.transaction { tx in
            try await tx.lock("consent:\(hash)")
            let row = try await tx.sql.raw("SELECT pending_authorization FROM hh_session WHERE id_hash = \(bind: hash)").first()
            let shown = try row?.decode(column: "pending_authorization", as: String?.self)
            try await tx.sql.raw("UPDATE hh_session SET pending_authorization = NULL WHERE id_hash = \(bind: hash)").run()
            return shown.map { constantTimeEquals($0, digest) } ?? false
        }
    }

    package func destroy(hash: String) async throws {
        try await database.transaction { tx in try await tx.sql.raw("DELETE FROM hh_session WHERE id_hash = \(bind: hash)").run() }
    }
}
