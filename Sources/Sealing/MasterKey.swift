import Crypto
import Foundation

/// The key that wraps data keys. It never touches the database: it comes from
/// `HEALTHHUB_MASTER_KEY` (base64 of 32 bytes) or from a key file, created with mode 0600 on
/// first start when neither exists. A KMS adapter can supply it the same way later.
package struct MasterKey: Sendable {
    /// Raw key bytes (`SymmetricKey` is not `Sendable`; one is made per use).
    private let bytes: Data
    package var key: SymmetricKey { SymmetricKey(data: bytes) }
    /// Where it came from, for the start-up log (never the key itself).
    package let source: String

    package init(key: SymmetricKey, source: String) {
        self.bytes = key.withUnsafeBytes { Data($0) }
        self.source = source
    }

    /// `mayCreate`: whether a missing key file may be created (only for a database with no data
    /// key yet: a new key could not open an existing one's data, and would hide a wrong path).
    package static func load(environmentValue: String?, keyFile: String?, mayCreate: Bool) throws(KeyError) -> MasterKey {
        if let value = environmentValue, !value.isEmpty {
            return MasterKey(key: try decode(value, origin: "HEALTHHUB_MASTER_KEY"), source: "environment")
        }
        guard let keyFile else {
            throw .unreadable("no master key: set HEALTHHUB_MASTER_KEY or --master-key-file (a PostgreSQL database has no default key file)")
        }
        let fm = FileManager.default
        guard fm.fileExists(atPath: keyFile) || mayCreate else {
            throw .unreadable(
                "no master key at \(keyFile), and this database already holds encrypted data: refusing to create a new key; set HEALTHHUB_MASTER_KEY or --master-key-file to the key it was created with"
            )
        }
        if fm.fileExists(atPath: keyFile) {
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
                throw .unreadable("cannot read master key file \(keyFile)")
            }
            return MasterKey(key: try decode(text, origin: keyFile), source: "file \(keyFile)")
        }
        let key = SymmetricKey(size: .bits256)
        let encoded = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        do {
            let dir = URL(fileURLWithPath: keyFile).deletingLastPathComponent()
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            guard fm.createFile(atPath: keyFile, contents: Data(encoded.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw KeyError.unreadable("cannot create master key file \(keyFile)")
            }
        } catch let error as KeyError {
            throw error
        } catch {
            throw .unreadable("cannot create master key file \(keyFile): \(error.localizedDescription)")
        }
        return MasterKey(key: key, source: "new file \(keyFile)")
    }

    private static func decode(_ text: String, origin: String) throws(KeyError) -> SymmetricKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed), data.count == 32 else {
            throw .unreadable("master key from \(origin) must be base64 of exactly 32 bytes")
        }
        return SymmetricKey(data: data)
    }
}

package enum KeyError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case wrongMasterKey(keyID: String)
    case unknownDataKey(String)
    case corrupted

    package var description: String {
        switch self {
        case .unreadable(let why): why
        case .wrongMasterKey(let id): "data key \(id) cannot be unwrapped: the master key does not match this database"
        case .unknownDataKey(let id): "data key \(id) is not in the keyring"
        case .corrupted: "sealed content failed authentication"
        }
    }
}
