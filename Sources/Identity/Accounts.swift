import Foundation
import Kernel
import Logging
import SQLKit
import Sealing
import Storage

/// A HealthHub account.
package struct User: Sendable, Equatable {
    package var id: String
    package var email: String
    package var role: Role
    package var patientID: String?
    package var practitionerID: String?
    package var disabled: Bool
    package var mfaEnrolled: Bool
    package var lockedUntil: Int64
    package var createdAt: Int64

    /// What the account links to, for lists: `Patient/1`, `Practitioner/2`, `caregiver` (a
    /// portal account with no record of its own, made for proxy access), or nil.
    package var linkText: String? {
        patientID.map { "Patient/\($0)" } ?? practitionerID.map { "Practitioner/\($0)" } ?? (role == .patient ? "caregiver" : nil)
    }

    /// MFA is mandatory for everyone who can see more than their own record.
    package var mfaRequired: Bool { role != .patient }

    /// The audit agent of this account.
    package var reference: String {
        switch role {
        case .patient: patientID.map { "Patient/\($0)" } ?? "User/\(id)"
        case .practitioner: practitionerID.map { "Practitioner/\($0)" } ?? "User/\(id)"
        case .admin, .auditor, .system: "User/\(id)"
        }
    }
}

/// Accounts: creation with the password policy, login with lockout, TOTP enrolment and
/// verification, recovery codes. Every method is safe to call from several instances at once.
package struct AccountStore: Sendable {
    let database: any Database
    let keyring: Keyring
    let policy: PasswordPolicy

    /// Failures within this window count towards a lockout.
    package static let failureWindow: Int64 = 15 * 60 * 1000
    package static let maxFailures = 5
    /// The first lockout lasts this long; each further lockout doubles it, up to a day.
    package static let baseLockout: Int64 = 15 * 60 * 1000
    package static let recoveryCodeCount = 10

    package init(database: any Database, keyring: Keyring, policy: PasswordPolicy) {
        self.database = database
        self.keyring = keyring
        self.policy = policy
    }

    static func normalize(_ email: String) -> String { email.trimmingCharacters(in: .whitespaces).lowercased() }

    static let columns = "id, email, role, patient_id, practitioner_id, disabled, mfa_enrolled, locked_until, created_at"

    static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", as: String.self),
            email: try row.decode(column: "email", as: String.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .patient,
            patientID: try row.decode(column: "patient_id", as: String?.self),
            practitionerID: try row.decode(column: "practitioner_id", as: String?.self),
            disabled: try row.decode(column: "disabled", as: Int.self) != 0,
            mfaEnrolled: try row.decode(column: "mfa_enrolled", as: Int.self) != 0,
            lockedUntil: try row.decode(column: "locked_until", as: Int64.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self))
    }

    // MARK: Administration

    /// Creates an account. A patient-role account links to its Patient, except a caregiver's
    /// (`caregiver`), made when someone is given proxy access who has no record here.
    package func create(email: String, role: Role, password: String, patientID: String?, practitionerID: String?, caregiver: Bool = false) async throws -> User {
        let email = Self.normalize(email)
        guard email.count <= 254, let at = email.firstIndex(of: "@"), at != email.startIndex, email[email.index(after: at)...].contains(".") else {
            throw IdentityError.rejected("'\(email.prefix(80))' is not an email address")
        }
        switch role {
        case .patient where patientID == nil && !caregiver: throw IdentityError.rejected("A patient account needs --patient Patient/ID")
        case .practitioner where practitionerID == nil: throw IdentityError.rejected("A practitioner account needs --practitioner Practitioner/ID")
        case .system: throw IdentityError.rejected("The system role belongs to backend clients; create one with `healthhub clients create`")
        default: break
        }
        if role != .patient, patientID != nil { throw IdentityError.rejected("Only patient accounts link to a Patient") }
        if role != .practitioner, practitionerID != nil { throw IdentityError.rejected("Only practitioner accounts link to a Practitioner") }
        if let problem = policy.problem(with: password) { throw IdentityError.rejected(problem) }
        let user = User(
            id: UUID().uuidString.lowercased(), email: email, role: role, patientID: patientID, practitionerID: practitionerID,
            disabled: false, mfaEnrolled: false, lockedUntil: 0, createdAt: Secrets.nowMillis())
        let hash = PasswordHasher.hash(password)
        do {
            try await database.transaction { tx in
                // One account per Patient or Practitioner record: a second one would act as that
                // person, and its every access would read as theirs in the audit trail.
                if let linked = patientID ?? practitionerID {
                    let column = patientID != nil ? "patient_id" : "practitioner_id"
                    try await tx.lock("account-link:\(linked)")
                    let taken = try await tx.sql.raw("SELECT 1 AS one FROM hh_user WHERE \(unsafeRaw: column) = \(bind: linked)").first()
                    guard taken == nil else { throw IdentityError.rejected("That record already has an account; one account per person") }
                }
                try await tx.sql.raw(
                    """
                    INSERT INTO hh_user (id, email, role, patient_id, practitioner_id, password_hash, created_at)
                    VALUES (\(bind: user.id), \(bind: user.email), \(bind: role.rawValue), \(bind: patientID), \(bind: practitionerID), \(bind: hash), \(bind: user.createdAt))
                    """
                ).run()
            }
        } catch StorageError.conflict {
            throw IdentityError.rejected("An account with this email already exists")
        }
        return user
    }

    package func list() async throws -> [User] {
        try await database.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM hh_user ORDER BY email").all().map(Self.user)
        }
    }

    package func find(email: String) async throws -> User? {
        try await database.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM hh_user WHERE email = \(bind: Self.normalize(email))").first().map(Self.user)
        }
    }

    package func find(id: String) async throws -> User? {
        try await database.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM hh_user WHERE id = \(bind: id)").first().map(Self.user)
        }
    }

    /// The account linked to a Practitioner record, if any.
    package func find(practitionerID: String) async throws -> User? {
        try await database.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM hh_user WHERE practitioner_id = \(bind: practitionerID)").first().map(Self.user)
        }
    }

    func require(email: String) async throws -> User {
        guard let user = try await find(email: email) else { throw IdentityError.notFound("No account has the email '\(Self.normalize(email).prefix(80))'") }
        return user
    }

    package func setDisabled(email: String, _ disabled: Bool) async throws -> User {
        var user = try await require(email: email)
        let id = user.id
        try await database.transaction { tx in
            try await tx.sql.raw("UPDATE hh_user SET disabled = \(bind: disabled ? 1 : 0), locked_until = 0, lockouts = 0 WHERE id = \(bind: id)").run()
            try await tx.sql.raw("DELETE FROM hh_login_failure WHERE user_id = \(bind: id)").run()
            if disabled { try await tx.sql.raw("DELETE FROM hh_session WHERE user_id = \(bind: id)").run() }
            // Every token the account holds stops within a second, on every instance: its
            // subject goes on the revocation list the token service already reads.
            if disabled { try await TokenService.revokeSubject(id, in: tx) }
        }
        user.disabled = disabled
        return user
    }

    /// Removes the TOTP secret and recovery codes; the user enrols again at the next login.
    package func resetMFA(email: String) async throws -> User {
        var user = try await require(email: email)
        let id = user.id
        try await database.transaction { tx in
            try await tx.sql.raw("UPDATE hh_user SET mfa_enrolled = 0, totp_secret = NULL, totp_key_id = NULL, totp_last_counter = 0 WHERE id = \(bind: id)").run()
            try await tx.sql.raw("DELETE FROM hh_recovery_code WHERE user_id = \(bind: id)").run()
            try await tx.sql.raw("DELETE FROM hh_session WHERE user_id = \(bind: id)").run()
        }
        user.mfaEnrolled = false
        return user
    }

    // MARK: Login

    package enum LoginResult: Sendable, Equatable {
        /// The password is right; `user.mfaRequired`/`mfaEnrolled` say what comes next.
        case passwordAccepted(User)
        /// Wrong password or unknown account (indistinguishable to the caller).
        case failed(userID: String?, lockedNow: Bool)
        case locked(userID: String, until: Int64)
        case disabled(userID: String)
    }

    package func checkPassword(email: String, password: String, now: Date = Now.date) async throws -> LoginResult {
        let row: (User, String)? = try await database.read { db in
            guard let r = try await db.raw("SELECT \(unsafeRaw: Self.columns), password_hash FROM hh_user WHERE email = \(bind: Self.normalize(email))").first() else { return nil }
            return (try Self.user(r), try r.decode(column: "password_hash", as: String.self))
        }
        guard let (user, hash) = row else {
            _ = await PasswordHasher.verify(password, hash: PasswordHasher.decoy)
            return .failed(userID: nil, lockedNow: false)
        }
        let millis = Secrets.nowMillis(now)
        let matches = await PasswordHasher.verify(password, hash: hash)  // also when locked: the same time either way
        if user.lockedUntil > millis { return .locked(userID: user.id, until: user.lockedUntil) }
        guard matches else {
            return .failed(userID: user.id, lockedNow: try await recordFailure(userID: user.id, now: millis))
        }
        if user.disabled { return .disabled(userID: user.id) }
        return .passwordAccepted(user)
    }

    /// Counts a failed password or second factor; returns whether it locked the account.
    package func recordFailure(userID: String, now millis: Int64 = Secrets.nowMillis()) async throws -> Bool {
        try await database.transaction { tx in
            try await tx.lock("login:\(userID)")
            try await tx.sql.raw("INSERT INTO hh_login_failure (user_id, at) VALUES (\(bind: userID), \(bind: millis))").run()
            try await tx.sql.raw("DELETE FROM hh_login_failure WHERE user_id = \(bind: userID) AND at < \(bind: millis - Self.failureWindow)").run()
            let recent = try await tx.sql.raw("SELECT COUNT(*) AS n FROM hh_login_failure WHERE user_id = \(bind: userID)").first()?.decode(column: "n", as: Int.self) ?? 0
            guard recent >= Self.maxFailures else { return false }
            let lockouts = try await tx.sql.raw("SELECT lockouts FROM hh_user WHERE id = \(bind: userID)").first()?.decode(column: "lockouts", as: Int.self) ?? 0
            let duration = min(Self.baseLockout << Int64(min(lockouts, 7)), 24 * 3600 * 1000)
            try await tx.sql.raw("UPDATE hh_user SET locked_until = \(bind: millis + duration), lockouts = \(bind: lockouts + 1) WHERE id = \(bind: userID)").run()
            return true
        }
    }

    /// A complete login clears the failures and the backoff.
    package func recordSuccess(userID: String) async throws {
        try await database.transaction { tx in
            try await tx.sql.raw("DELETE FROM hh_login_failure WHERE user_id = \(bind: userID)").run()
            try await tx.sql.raw("UPDATE hh_user SET lockouts = 0, locked_until = 0 WHERE id = \(bind: userID)").run()
        }
    }

    // MARK: TOTP

    /// Starts (or restarts) enrolment: a new secret, stored sealed, not active until confirmed.
    package func beginEnrolment(userID: String) async throws -> TOTP {
        let totp = TOTP.generate()
        let sealed = try keyring.seal(totp.secret, context: "hh_user/totp/\(userID)")
        try await database.transaction { tx in
            try await tx.sql.raw(
                "UPDATE hh_user SET totp_secret = \(bind: sealed), totp_key_id = \(bind: keyring.currentKeyID), mfa_enrolled = 0 WHERE id = \(bind: userID) AND mfa_enrolled = 0"
            ).run()
        }
        return totp
    }

    /// The secret of an enrolment in progress (shown again after a mistyped code), or a new one.
    package func enrolment(userID: String) async throws -> TOTP {
        if let (totp, _) = try await database.read({ db in try await self.totp(userID: userID, on: db) }) { return totp }
        return try await beginEnrolment(userID: userID)
    }

    func totp(userID: String, on db: any SQLDatabase) async throws -> (TOTP, lastCounter: Int64)? {
        guard let row = try await db.raw("SELECT totp_secret, totp_key_id, totp_last_counter FROM hh_user WHERE id = \(bind: userID)").first(),
            let sealed = try row.decode(column: "totp_secret", as: Data?.self),
            let keyID = try row.decode(column: "totp_key_id", as: String?.self)
        else { return nil }
        let secret = try keyring.open(sealed, keyID: keyID, context: "hh_user/totp/\(userID)")
        return (TOTP(secret: Array(secret)), try row.decode(column: "totp_last_counter", as: Int64.self))
    }

    /// Confirms enrolment with a first code; returns the recovery codes, shown once.
    /// How long an enrolment code is good for.
    package static let enrolmentCodeLifetime: Int64 = 7 * 24 * 3600

    /// Issues a new one-time enrolment code for a staff account (replacing any earlier one):
    /// shown once, to be handed over apart from the password.
    package func issueEnrolmentCode(userID: String, now: Date = Now.date) async throws -> String {
        let code = Secrets.token(bytes: 12)
        let expires = Int64(now.timeIntervalSince1970) + Self.enrolmentCodeLifetime
        try await database.transaction { tx in
            try await tx.sql.raw("DELETE FROM hh_enrolment_code WHERE user_id = \(bind: userID)").run()
            try await tx.sql.raw(
                "INSERT INTO hh_enrolment_code (user_id, code_hash, expires_at) VALUES (\(bind: userID), \(bind: Self.recoveryHash(code, userID: userID)), \(bind: expires))"
            ).run()
        }
        return code
    }

    /// Whether `code` is the account's unexpired enrolment code (not used up by asking).
    package func checkEnrolmentCode(userID: String, code: String, now: Date = Now.date) async throws -> Bool {
        try await database.read { db in try await Self.enrolmentCodeMatches(userID: userID, code: code, now: now, on: db) }
    }

    static func enrolmentCodeMatches(userID: String, code: String, now: Date, on db: any SQLDatabase) async throws -> Bool {
        guard !code.isEmpty, code.count <= 64,
            let row = try await db.raw("SELECT code_hash, expires_at FROM hh_enrolment_code WHERE user_id = \(bind: userID)").first()
        else { return false }
        let hash = try row.decode(column: "code_hash", as: String.self)
        return try row.decode(column: "expires_at", as: Int64.self) > Int64(now.timeIntervalSince1970)
            && constantTimeEquals(Self.recoveryHash(code.trimmingCharacters(in: .whitespaces), userID: userID), hash)
    }

    /// Turns on TOTP once the app's code matches; for a staff account the enrolment code must
    /// match too, and is used up. Returns the recovery codes, or nil when a code is wrong.
    package func confirmEnrolment(userID: String, code: String, enrolmentCode: String?, now: Date = Now.date) async throws -> [String]? {
        try await database.transaction { tx in
            try await tx.lock("login:\(userID)")
            guard let (totp, _) = try await totp(userID: userID, on: tx.sql), let counter = totp.matchingCounter(code, at: now) else { return nil }
            if let enrolmentCode {
                guard try await Self.enrolmentCodeMatches(userID: userID, code: enrolmentCode, now: now, on: tx.sql) else { return nil }
                try await tx.sql.raw("DELETE FROM hh_enrolment_code WHERE user_id = \(bind: userID)").run()
            }
            let codes = (0..<Self.recoveryCodeCount).map { _ in Self.newRecoveryCode() }
            try await tx.sql.raw("UPDATE hh_user SET mfa_enrolled = 1, totp_last_counter = \(bind: counter) WHERE id = \(bind: userID)").run()
            try await tx.sql.raw("DELETE FROM hh_recovery_code WHERE user_id = \(bind: userID)").run()
            for c in codes {
                try await tx.sql.raw("INSERT INTO hh_recovery_code (user_id, code_hash) VALUES (\(bind: userID), \(bind: Self.recoveryHash(c, userID: userID)))").run()
            }
            return codes
        }
    }

    package enum SecondFactor: Sendable, Equatable { case totp, recoveryCode }

    /// Checks a TOTP code (each time step once) or an unused recovery code (each once).
    package func verifySecondFactor(userID: String, code: String, now: Date = Now.date) async throws -> SecondFactor? {
        try await database.transaction { tx in
            try await tx.lock("login:\(userID)")
            if let (totp, last) = try await totp(userID: userID, on: tx.sql), let counter = totp.matchingCounter(code, at: now), counter > last {
                try await tx.sql.raw("UPDATE hh_user SET totp_last_counter = \(bind: counter) WHERE id = \(bind: userID)").run()
                return .totp
            }
            let normalized = code.uppercased().filter { $0.isLetter || $0.isNumber }
            guard normalized.count == 16 else { return nil }
            let hash = Self.recoveryHash(normalized, userID: userID)
            guard try await tx.sql.raw("SELECT 1 AS one FROM hh_recovery_code WHERE user_id = \(bind: userID) AND code_hash = \(bind: hash) AND used_at IS NULL").first() != nil
            else { return nil }
            try await tx.sql.raw("UPDATE hh_recovery_code SET used_at = \(bind: Secrets.nowMillis(now)) WHERE user_id = \(bind: userID) AND code_hash = \(bind: hash)").run()
            return .recoveryCode
        }
    }

    package func unusedRecoveryCodes(userID: String) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM hh_recovery_code WHERE user_id = \(bind: userID) AND used_at IS NULL").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// 16 base32 characters (80 bits), shown as four groups: `ABCD-EFGH-JKLM-NPQR`.
    static func newRecoveryCode() -> String {
        var bytes = [UInt8](repeating: 0, count: 10)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let text = Base32.encode(bytes)
        return stride(from: 0, to: 16, by: 4).map { i in String(text.dropFirst(i).prefix(4)) }.joined(separator: "-")
    }

    static func recoveryHash(_ code: String, userID: String) -> String {
        Secrets.hash("\(userID):\(code.uppercased().filter { $0.isLetter || $0.isNumber })")
    }
}
