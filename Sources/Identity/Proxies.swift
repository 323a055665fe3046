import Foundation
import Kernel
import SQLKit
import Storage

/// Proxy access: a portal account that may act for a patient other than its own (a caregiver
/// for the person they look after, a parent for a child). The patient gives it (or staff in
/// their care do, for someone who cannot: a child), and takes it back; the relation itself is a
/// FHIR `RelatedPerson` of the patient, which is the audit agent of everything the proxy does
/// for them. The account is a patient-role account: its own record if it has one, and for each
/// proxy row the patient it may act for, one at a time (the session's choice).
package struct ProxyStore: Sendable {
    let database: any Database

    /// A patient can have at most this many proxies (a page of people, not a mailing list).
    package static let limit = 20

    package init(database: any Database) {
        self.database = database
    }

    package struct Proxy: Sendable, Equatable {
        package var userID: String
        package var email: String
        package var patientID: String
        package var relatedPersonID: String
        /// The audit agent that gave the access (`Patient/1`, `Practitioner/2`).
        package var grantedBy: String
        package var createdAt: Int64

        /// The audit agent of the proxy acting for the patient.
        package var reference: String { "RelatedPerson/\(relatedPersonID)" }
    }

    static func proxy(_ row: any SQLRow) throws -> Proxy {
        Proxy(
            userID: try row.decode(column: "user_id", as: String.self), email: try row.decode(column: "email", as: String.self),
            patientID: try row.decode(column: "patient_id", as: String.self), relatedPersonID: try row.decode(column: "related_person_id", as: String.self),
            grantedBy: try row.decode(column: "granted_by", as: String.self), createdAt: try row.decode(column: "created_at", as: Int64.self))
    }

    static let select = "SELECT p.user_id, u.email, p.patient_id, p.related_person_id, p.granted_by, p.created_at FROM hh_proxy p JOIN hh_user u ON u.id = p.user_id"

    /// Gives `user` access to the patient's record as `relatedPerson`. Refused for an account
    /// that is not a patient-role account (staff see patients through care, not proxies), for
    /// the patient's own account, when the account already has access, and past `limit`.
    package func grant(user: User, patientID: String, relatedPersonID: String, grantedBy: String, now: Date = Now.date) async throws -> Proxy {
        guard user.role == .patient else { throw IdentityError.rejected("Only a portal account (not a staff account) can be given access to a patient's record") }
        guard user.patientID != patientID else { throw IdentityError.rejected("That is the patient's own account") }
        let proxy = Proxy(
            userID: user.id, email: user.email, patientID: patientID, relatedPersonID: relatedPersonID, grantedBy: grantedBy, createdAt: Secrets.nowMillis(now))
        try await database.transaction { tx in
            try await tx.lock("proxy:\(patientID)")
            let rows = try await tx.sql.raw("SELECT user_id FROM hh_proxy WHERE patient_id = \(bind: patientID)").all()
            let users = try rows.map { try $0.decode(column: "user_id", as: String.self) }
            guard !users.contains(user.id) else { throw IdentityError.rejected("That account already has access to this record") }
            guard users.count < Self.limit else { throw IdentityError.rejected("A record can have at most \(Self.limit) people with access") }
            try await tx.sql.raw(
                """
                INSERT INTO hh_proxy (user_id, patient_id, related_person_id, granted_by, created_at)
                VALUES (\(bind: proxy.userID), \(bind: patientID), \(bind: relatedPersonID), \(bind: grantedBy), \(bind: proxy.createdAt))
                """
            ).run()
        }
        return proxy
    }

    /// Ends the access of the proxy `relatedPersonID` to the patient's record; nil when there
    /// was none. It ends at once: each request of the proxy looks its access up again.
    package func revoke(patientID: String, relatedPersonID: String) async throws -> Proxy? {
        try await database.transaction { tx in
            try await tx.lock("proxy:\(patientID)")
            guard
                let row = try await tx.sql.raw(
                    "\(unsafeRaw: Self.select) WHERE p.patient_id = \(bind: patientID) AND p.related_person_id = \(bind: relatedPersonID)"
                ).first()
            else { return nil }
            let proxy = try Self.proxy(row)
            try await tx.sql.raw("DELETE FROM hh_proxy WHERE patient_id = \(bind: patientID) AND related_person_id = \(bind: relatedPersonID)").run()
            try await tx.sql.raw("UPDATE hh_session SET acting_for = NULL WHERE user_id = \(bind: proxy.userID) AND acting_for = \(bind: patientID)").run()
            return proxy
        }
    }

    /// The people who may act for the patient, oldest first.
    package func proxies(of patientID: String) async throws -> [Proxy] {
        try await database.read { db in
            try await db.raw("\(unsafeRaw: Self.select) WHERE p.patient_id = \(bind: patientID) ORDER BY p.created_at, p.user_id").all().map(Self.proxy)
        }
    }

    /// The patients the account may act for, oldest grant first.
    package func records(of userID: String) async throws -> [Proxy] {
        try await database.read { db in
            try await db.raw("\(unsafeRaw: Self.select) WHERE p.user_id = \(bind: userID) ORDER BY p.created_at, p.patient_id").all().map(Self.proxy)
        }
    }
}

extension SessionStore {
    /// Chooses the patient whose record the session's pages show (the account's own: nil). The
    /// choice is looked up against the account's proxies at each request, so it grants nothing
    /// by itself; it is not a change of privilege (the account holds every access it can
    /// choose), so the session keeps its id.
    package func act(_ session: Session, for patientID: String?) async throws {
        let hash = session.idHash
        try await database.transaction { tx in try await tx.sql.raw("UPDATE hh_session SET acting_for = \(bind: patientID) WHERE id_hash = \(bind: hash)").run() }
    }
}
