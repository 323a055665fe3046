// swift-format-ignore-file
// (Data tables and migration statements: their hand alignment carries meaning.)

import Storage

/// The identity schema. Secrets are stored as SHA-256 hashes (random tokens, client secrets,
/// recovery codes), bcrypt (passwords) or sealed with the keyring (TOTP secrets, signing keys).
package enum IdentityMigrations {
    package static let all: [Migration] = [
        Migration("identity.001-accounts") { d in [
            """
            CREATE TABLE hh_user (
              id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
              patient_id TEXT, practitioner_id TEXT, password_hash TEXT NOT NULL,
              disabled INTEGER NOT NULL DEFAULT 0, mfa_enrolled INTEGER NOT NULL DEFAULT 0,
              totp_key_id TEXT, totp_secret \(d.blobType), totp_last_counter \(d.bigintType) NOT NULL DEFAULT 0,
              locked_until \(d.bigintType) NOT NULL DEFAULT 0, lockouts INTEGER NOT NULL DEFAULT 0,
              created_at \(d.bigintType) NOT NULL)
            """,
            "CREATE TABLE hh_login_failure (user_id TEXT NOT NULL, at \(d.bigintType) NOT NULL)",
            "CREATE INDEX hh_login_failure_user ON hh_login_failure (user_id, at)",
            "CREATE TABLE hh_recovery_code (user_id TEXT NOT NULL, code_hash TEXT NOT NULL, used_at \(d.bigintType), PRIMARY KEY (user_id, code_hash))",
            """
            CREATE TABLE hh_session (
              id_hash TEXT PRIMARY KEY, user_id TEXT, pending_user_id TEXT, csrf TEXT NOT NULL,
              created_at \(d.bigintType) NOT NULL, last_seen \(d.bigintType) NOT NULL)
            """,
        ] },
        Migration("identity.002-oauth") { d in [
            """
            CREATE TABLE hh_oauth_client (
              id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, secret_hash TEXT,
              scopes TEXT NOT NULL, redirect_uris TEXT NOT NULL, jwks TEXT,
              revoked INTEGER NOT NULL DEFAULT 0, created_at \(d.bigintType) NOT NULL)
            """,
            """
            CREATE TABLE hh_oauth_code (
              code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
              redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, patient_id TEXT, challenge TEXT NOT NULL,
              nonce TEXT, expires_at \(d.bigintType) NOT NULL, used INTEGER NOT NULL DEFAULT 0, family TEXT NOT NULL)
            """,
            """
            CREATE TABLE hh_refresh_token (
              token_hash TEXT PRIMARY KEY, family TEXT NOT NULL, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
              scope TEXT NOT NULL, patient_id TEXT, expires_at \(d.bigintType) NOT NULL,
              used INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0, created_at \(d.bigintType) NOT NULL)
            """,
            "CREATE INDEX hh_refresh_token_family ON hh_refresh_token (family)",
            """
            CREATE TABLE hh_signing_key (
              kid TEXT PRIMARY KEY, key_id TEXT NOT NULL, sealed \(d.blobType) NOT NULL,
              created_at \(d.bigintType) NOT NULL, state TEXT NOT NULL)
            """,
            "CREATE TABLE hh_revoked_token (jti TEXT PRIMARY KEY, family TEXT, expires_at \(d.bigintType) NOT NULL)",
            "CREATE TABLE hh_client_assertion (client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at \(d.bigintType) NOT NULL, PRIMARY KEY (client_id, jti))",
        ] },
        // One-time codes an administrator hands a staff member for their first authenticator:
        // a password alone never reveals the TOTP secret.
        Migration("identity.003-enrolment-code") { d in [
            "CREATE TABLE hh_enrolment_code (user_id TEXT PRIMARY KEY, code_hash TEXT NOT NULL, expires_at \(d.bigintType) NOT NULL)",
        ] },
        // The authorization request a consent page showed, by hash: the answer is bound to it.
        Migration("identity.004-pending-authorization") { _ in [
            "ALTER TABLE hh_session ADD COLUMN pending_authorization TEXT",
        ] },
        // Invitations and password resets (`AccountLink`): the token's hash, one use.
        Migration("identity.005-account-link") { d in [
            "CREATE TABLE hh_account_link (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, purpose TEXT NOT NULL, expires_at \(d.bigintType) NOT NULL)",
            "CREATE INDEX hh_account_link_user ON hh_account_link (user_id, purpose)",
        ] },
        // Proxy access (`ProxyStore`): who may act for which patient, as which RelatedPerson;
        // and the patient a session acts for.
        Migration("identity.006-proxy") { d in [
            """
            CREATE TABLE hh_proxy (
              user_id TEXT NOT NULL, patient_id TEXT NOT NULL, related_person_id TEXT NOT NULL,
              granted_by TEXT NOT NULL, created_at \(d.bigintType) NOT NULL, PRIMARY KEY (user_id, patient_id))
            """,
            "CREATE UNIQUE INDEX hh_proxy_patient ON hh_proxy (patient_id, related_person_id)",
            "ALTER TABLE hh_session ADD COLUMN acting_for TEXT",
        ] },
    ]
}
