import Crypto
import Foundation
import Kernel
import SQLKit
import Storage

/// AES-256-GCM envelope encryption. Content is sealed with a data key; data keys are stored
/// wrapped by the master key (table `hh_data_key`); each sealed row records its key id, so a
/// newer key can take over without re-encrypting old rows.
package struct Keyring: Sendable {
    package let currentKeyID: String
    /// Raw data keys by id (`SymmetricKey` is not `Sendable`; one is made per use).
    private let keys: [String: Data]

    init(currentKeyID: String, keys: [String: Data]) {
        self.currentKeyID = currentKeyID
        self.keys = keys
    }

    /// Seals `plaintext`; `context` (e.g. "Patient/123/2") is authenticated but not stored, so a
    /// sealed value moved to another row fails to open.
    package func seal(_ plaintext: some DataProtocol, context: String) throws -> Data {
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: keys[currentKeyID]!), authenticating: Data(context.utf8))
        return box.combined!
    }

    package func open(_ sealed: Data, keyID: String, context: String) throws(KeyError) -> Data {
        guard let raw = keys[keyID] else { throw .unknownDataKey(keyID) }
        let key = SymmetricKey(data: raw)
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
        } catch {
            throw .corrupted
        }
    }

    /// A stored record's bytes sealed under the current data key, bound to the record's place
    /// (`Type/id/version`): the one AAD rule for resources and audit events alike.
    package func seal(record plaintext: some DataProtocol, type: String, id: String, version: Int) throws -> SealedBytes {
        SealedBytes(keyID: currentKeyID, sealed: try seal(plaintext, context: Self.context(type: type, id: id, version: version)))
    }

    /// Opens a stored record's bytes; a value moved to another record's place fails to open.
    package func open(record sealed: Data, keyID: String, type: String, id: String, version: Int) throws(KeyError) -> Data {
        try open(sealed, keyID: keyID, context: Self.context(type: type, id: id, version: version))
    }

    static func context(type: String, id: String, version: Int) -> String { "\(type)/\(id)/\(version)" }

    package static let migrations = [
        Migration("security.001-data-keys") { d in
            [
                "CREATE TABLE hh_data_key (key_id TEXT PRIMARY KEY, wrapped \(d.blobType) NOT NULL, created_at \(d.bigintType) NOT NULL)"
            ]
        }
    ]

    /// Loads every data key, creating the first one on a new database.
    /// Whether the database holds any data key (then its master key already exists somewhere).
    package static func hasDataKeys(_ database: any Database) async throws -> Bool {
        try await database.read { db in try await db.raw("SELECT key_id FROM hh_data_key LIMIT 1").first() != nil }
    }

    package static func load(from database: any Database, masterKey: MasterKey) async throws -> Keyring {
        let rows: [(String, Data, Int64)] = try await database.transaction { tx in
            try await tx.lock("healthhub.keyring")
            var rows = try await tx.sql.raw("SELECT key_id, wrapped, created_at FROM hh_data_key ORDER BY created_at, key_id").all().map {
                (try $0.decode(column: "key_id", as: String.self), try $0.decode(column: "wrapped", as: Data.self), try $0.decode(column: "created_at", as: Int64.self))
            }
            if rows.isEmpty {
                let id = "dk-" + UUID().uuidString.lowercased().prefix(8)
                let wrapped = try wrap(SymmetricKey(size: .bits256), id: id, with: masterKey)
                let now = Int64(Now.date.timeIntervalSince1970 * 1000)
                try await tx.sql.raw("INSERT INTO hh_data_key (key_id, wrapped, created_at) VALUES (\(bind: id), \(bind: wrapped), \(bind: now))").run()
                rows = [(id, wrapped, now)]
            }
            return rows
        }
        var keys: [String: Data] = [:]
        for (id, wrapped, _) in rows {
            keys[id] = try unwrap(wrapped, id: id, with: masterKey).withUnsafeBytes { Data($0) }
        }
        return Keyring(currentKeyID: rows.last!.0, keys: keys)
    }

    static func wrap(_ key: SymmetricKey, id: String, with masterKey: MasterKey) throws -> Data {
        let raw = key.withUnsafeBytes { Data($0) }
        return try AES.GCM.seal(raw, using: masterKey.key, authenticating: Data("hh-data-key:\(id)".utf8)).combined!
    }

    static func unwrap(_ wrapped: Data, id: String, with masterKey: MasterKey) throws(KeyError) -> SymmetricKey {
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return SymmetricKey(data: try AES.GCM.open(box, using: masterKey.key, authenticating: Data("hh-data-key:\(id)".utf8)))
        } catch {
            throw .wrongMasterKey(keyID: id)
        }
    }
}

/// Sealed bytes and the id of the data key that sealed them.
package struct SealedBytes: Sendable {
    package let keyID: String
    package let sealed: Data
}
