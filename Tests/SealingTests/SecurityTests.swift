import Crypto
import Foundation
import Sealing
import Storage
import TestSupport
import Testing

@Suite struct MasterKeyTests {
    @Test func createsAKeyFileWithMode0600AndReadsItBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hh-\(UUID().uuidString)/master.key").path
        let created = try MasterKey.load(environmentValue: nil, keyFile: path, mayCreate: true)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let again = try MasterKey.load(environmentValue: nil, keyFile: path, mayCreate: false)
        #expect(created.key == again.key)
        #expect(again.source.contains("file"))
    }

    @Test func aKeyIsNeverCreatedForADatabaseThatHasDataOrWithoutAPlace() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hh-\(UUID().uuidString)/master.key").path
        #expect(throws: KeyError.self) { try MasterKey.load(environmentValue: nil, keyFile: path, mayCreate: false) }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: KeyError.self) { try MasterKey.load(environmentValue: nil, keyFile: nil, mayCreate: true) }
    }

    @Test func environmentWinsAndMustBe32Bytes() throws {
        let raw = Data(repeating: 7, count: 32).base64EncodedString()
        let key = try MasterKey.load(environmentValue: raw, keyFile: "/nonexistent/should-not-be-created", mayCreate: true)
        #expect(key.source == "environment")
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/should-not-be-created"))
        #expect(throws: KeyError.self) { try MasterKey.load(environmentValue: Data(repeating: 1, count: 16).base64EncodedString(), keyFile: "/tmp/x", mayCreate: false) }
    }
}

@Suite struct KeyringTests {
    static let migrations = MigrationRunner(Keyring.migrations)

    func masterKey(_ byte: UInt8) throws -> MasterKey {
        try MasterKey.load(environmentValue: Data(repeating: byte, count: 32).base64EncodedString(), keyFile: "/unused", mayCreate: false)
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func sealsAndOpensWithTheSameKeyAcrossLoads(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let first = try await Keyring.load(from: db, masterKey: try masterKey(1))
            let sealed = try first.seal(Data("hello patient".utf8), context: "Patient/1/1")
            #expect(!String(decoding: sealed, as: UTF8.self).contains("hello"))
            let second = try await Keyring.load(from: db, masterKey: try masterKey(1))
            #expect(second.currentKeyID == first.currentKeyID)
            #expect(try second.open(sealed, keyID: first.currentKeyID, context: "Patient/1/1") == Data("hello patient".utf8))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func refusesAWrongMasterKey(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let keyring = try await Keyring.load(from: db, masterKey: try masterKey(1))
            await #expect(throws: KeyError.wrongMasterKey(keyID: keyring.currentKeyID)) {
                _ = try await Keyring.load(from: db, masterKey: try masterKey(2))
            }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func sealedContentIsBoundToItsRow(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let keyring = try await Keyring.load(from: db, masterKey: try masterKey(3))
            let sealed = try keyring.seal(Data("x".utf8), context: "Patient/1/1")
            #expect(throws: KeyError.corrupted) { try keyring.open(sealed, keyID: keyring.currentKeyID, context: "Patient/2/1") }
            var tampered = sealed
            tampered[tampered.count - 1] ^= 1
            #expect(throws: KeyError.corrupted) { try keyring.open(tampered, keyID: keyring.currentKeyID, context: "Patient/1/1") }
            #expect(throws: KeyError.unknownDataKey("nope")) { try keyring.open(sealed, keyID: "nope", context: "Patient/1/1") }
        }
    }
}
