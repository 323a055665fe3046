@preconcurrency import Crypto
import Foundation
import Kernel
import SQLKit
import Sealing
import Storage
import Synchronization

/// HealthHub's ES256 signing keys, sealed with the keyring in `hh_signing_key`. One key is
/// `current` (it signs), one `previous` (tokens it signed still verify until they expire), the
/// rest `retired`. `healthhub keys rotate` rotates while servers run: they reload the keys every
/// minute, and at once (at most once a second) when a token names a kid they do not know.
package final class SigningKeys: Sendable {
    package struct KeySet: Sendable {
        package let currentKID: String
        package let current: P256.Signing.PrivateKey
        package let publicKeys: [(kid: String, key: P256.Signing.PublicKey)]
    }

    let database: any Database
    let keyring: Keyring
    private let state: Mutex<(keys: KeySet, loadedAt: Date)>
    static let reloadInterval: TimeInterval = 60
    static let unknownKidReloadInterval: TimeInterval = 1

    private init(database: any Database, keyring: Keyring, keys: KeySet) {
        self.database = database
        self.keyring = keyring
        self.state = Mutex((keys, Now.date))
    }

    package static func open(database: any Database, keyring: Keyring) async throws -> SigningKeys {
        SigningKeys(database: database, keyring: keyring, keys: try await load(database: database, keyring: keyring))
    }

    static func context(_ kid: String) -> String { "hh_signing_key/\(kid)" }

    static func load(database: any Database, keyring: Keyring) async throws -> KeySet {
        let rows: [(String, String, Data, String)] = try await database.transaction { tx in
            try await tx.lock("signing-keys")
            var rows = try await tx.sql.raw("SELECT kid, key_id, sealed, state FROM hh_signing_key WHERE state <> 'retired' ORDER BY created_at DESC").all().map {
                (
                    try $0.decode(column: "kid", as: String.self), try $0.decode(column: "key_id", as: String.self),
                    try $0.decode(column: "sealed", as: Data.self), try $0.decode(column: "state", as: String.self)
                )
            }
            if !rows.contains(where: { $0.3 == "current" }) {
                rows.insert(try await insertKey(tx, keyring: keyring), at: 0)
            }
            return rows
        }
        var current: (String, P256.Signing.PrivateKey)?
        var publics: [(String, P256.Signing.PublicKey)] = []
        for (kid, keyID, sealed, state) in rows {
            let raw = try keyring.open(sealed, keyID: keyID, context: context(kid))
            let key = try P256.Signing.PrivateKey(rawRepresentation: raw)
            if state == "current", current == nil { current = (kid, key) }
            publics.append((kid, key.publicKey))
        }
        return KeySet(currentKID: current!.0, current: current!.1, publicKeys: publics)
    }

    static func insertKey(_ tx: DatabaseTransaction, keyring: Keyring) async throws -> (String, String, Data, String) {
        let key = P256.Signing.PrivateKey()
        let kid = "es256-" + Secrets.token(bytes: 9)
        let sealed = try keyring.seal(key.rawRepresentation, context: context(kid))
        try await tx.sql.raw(
            "INSERT INTO hh_signing_key (kid, key_id, sealed, created_at, state) VALUES (\(bind: kid), \(bind: keyring.currentKeyID), \(bind: sealed), \(bind: Secrets.nowMillis()), 'current')"
        ).run()
        return (kid, keyring.currentKeyID, sealed, "current")
    }

    /// Makes a new current key; the current one becomes previous, the previous one retired.
    /// Returns the new key id.
    @discardableResult
    package static func rotate(database: any Database, keyring: Keyring) async throws -> String {
        try await database.transaction { tx in
            try await tx.lock("signing-keys")
            try await tx.sql.raw("UPDATE hh_signing_key SET state = 'retired' WHERE state = 'previous'").run()
            try await tx.sql.raw("UPDATE hh_signing_key SET state = 'previous' WHERE state = 'current'").run()
            return try await insertKey(tx, keyring: keyring).0
        }
    }

    package var keys: KeySet { state.withLock { $0.keys } }

    /// Reloads when the keys are older than a minute (or `force`, rate-limited).
    package func refreshIfStale(force: Bool = false) async {
        let age = state.withLock { Now.date.timeIntervalSince($0.loadedAt) }
        guard age > (force ? Self.unknownKidReloadInterval : Self.reloadInterval) else { return }
        state.withLock { $0.loadedAt = Now.date }  // one reload at a time is enough
        if let fresh = try? await Self.load(database: database, keyring: keyring) {
            state.withLock { $0 = (fresh, Now.date) }
        }
    }

    /// The JWK Set of the current and previous keys.
    package func jwks() -> JSON {
        ["keys": .array(keys.publicKeys.map { JWK.publicJSON($0.key, kid: $0.kid) })]
    }
}
