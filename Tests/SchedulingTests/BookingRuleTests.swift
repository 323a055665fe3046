import FHIR
import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Scheduling
import Sealing
import Storage
import TestSupport
import Testing

/// The booking rule at the store, where every write path ends: one active Appointment per
/// Slot, no overlapping time per practitioner, the Slot's status kept with its claim.
@Suite struct BookingRuleTests {
    static let migrations = MigrationRunner(Keyring.migrations + FHIRMigrations.all + SchedulingMigrations.all)

    /// A store with the booking rule on a fresh database of `kind`.
    static func withStore(_ kind: TestDatabaseKind, _ body: @Sendable (ResourceStore) async throws -> Void) async throws {
        try await TestDatabases.with(kind, migrations: migrations) { db in
            let definitions = try FHIRDefinitions.loadBundled()
            let registry = SearchParameterRegistry(definitions: definitions)
            let key = try MasterKey.load(environmentValue: Data(count: 32).base64EncodedString(), keyFile: nil, mayCreate: false)
            let store = ResourceStore(
                database: db, keyring: try await Keyring.load(from: db, masterKey: key),
                indexer: SearchIndexer(definitions: definitions, registry: registry), clock: SystemClock(), rules: [BookingRule()])
            try await body(store)
        }
    }

    static func appointment(
        slot: String? = nil, practitioner: String? = "dr-a", start: String = "2027-03-01T09:00:00Z", end: String = "2027-03-01T09:30:00Z", status: String = "booked"
    ) -> JSONObject {
        var o: JSONObject = ["resourceType": "Appointment", "status": .string(status), "start": .string(start), "end": .string(end)]
        var participants: [JSON] = [["actor": ["reference": "Patient/p1"], "status": "accepted"]]
        if let practitioner { participants.append(["actor": ["reference": .string("Practitioner/\(practitioner)")], "status": "accepted"]) }
        o["participant"] = .array(participants)
        if let slot { o["slot"] = [["reference": .string("Slot/\(slot)")]] }
        return o
    }

    static func slot(_ id: String, status: String = "free") -> JSONObject {
        [
            "resourceType": "Slot", "id": .string(id), "schedule": ["reference": "Schedule/s1"], "status": .string(status), "start": "2027-03-01T09:00:00Z",
            "end": "2027-03-01T09:30:00Z",
        ]
    }

    static func slotStatus(_ store: ResourceStore, _ id: String) async throws -> String? {
        let v = try await store.read("Slot", id)
        return try v?.content.map { try JSON.parse($0)["status"]?.stringValue } ?? nil
    }

    static func isConflict(_ error: any Error) -> Bool { (error as? FHIRError)?.status.code == 409 }

    @Test(arguments: TestDatabaseKind.allCases)
    func fiftyConcurrentBookingsOfOneSlotGiveExactlyOne(_ kind: TestDatabaseKind) async throws {
        try await Self.withStore(kind) { store in
            _ = try await store.database.transaction { tx in try await store.update(Self.slot("s1"), type: "Slot", id: "s1", ifMatch: nil, in: tx) }
            // different practitioners, so only the Slot can make them collide
            let outcomes = await withTaskGroup(of: Result<String, any Error>.self) { group in
                for n in 0..<50 {
                    group.addTask {
                        do {
                            let v = try await store.database.transaction { tx in
                                try await store.create(Self.appointment(slot: "s1", practitioner: "dr-\(n)"), type: "Appointment", in: tx)
                            }
                            return .success(v.id)
                        } catch { return .failure(error) }
                    }
                }
                var all: [Result<String, any Error>] = []
                for await r in group { all.append(r) }
                return all
            }
            let booked = outcomes.compactMap { try? $0.get() }
            #expect(booked.count == 1)
            let failures = outcomes.compactMap { r -> (any Error)? in if case .failure(let e) = r { return e } else { return nil } }
            #expect(failures.count == 49)
            #expect(failures.allSatisfy(Self.isConflict))
            #expect(try await Self.slotStatus(store, "s1") == "busy")
            // the refused bookings left nothing behind
            let count = try await store.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM hh_resource WHERE res_type = 'Appointment'").first()!.decode(column: "n", as: Int.self)
            }
            #expect(count == 1)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func cancellingFreesTheSlotAndTheTime(_ kind: TestDatabaseKind) async throws {
        try await Self.withStore(kind) { store in
            let db = store.database
            _ = try await db.transaction { tx in try await store.update(Self.slot("s1"), type: "Slot", id: "s1", ifMatch: nil, in: tx) }
            let first = try await db.transaction { tx in try await store.create(Self.appointment(slot: "s1"), type: "Appointment", in: tx) }
            await #expect(throws: FHIRError.self) {
                try await db.transaction { tx in try await store.create(Self.appointment(slot: "s1", practitioner: "dr-b"), type: "Appointment", in: tx) }
            }
            // the same appointment updated keeps its slot (it is its own claim, not a conflict)
            var again = Self.appointment(slot: "s1")
            again["id"] = .string(first.id)
            again["comment"] = "bring the referral letter"
            let kept = again
            _ = try await db.transaction { tx in try await store.update(kept, type: "Appointment", id: first.id, ifMatch: nil, in: tx) }
            #expect(try await Self.slotStatus(store, "s1") == "busy")
            again["status"] = "cancelled"
            let cancelled = again
            _ = try await db.transaction { tx in try await store.update(cancelled, type: "Appointment", id: first.id, ifMatch: nil, in: tx) }
            #expect(try await Self.slotStatus(store, "s1") == "free")
            let second = try await db.transaction { tx in try await store.create(Self.appointment(slot: "s1"), type: "Appointment", in: tx) }
            #expect(try await Self.slotStatus(store, "s1") == "busy")
            // a deletion frees it too
            _ = try await db.transaction { tx in try await store.delete("Appointment", second.id, in: tx) }
            #expect(try await Self.slotStatus(store, "s1") == "free")
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPractitionerNeverHasTwoOverlappingAppointments(_ kind: TestDatabaseKind) async throws {
        try await Self.withStore(kind) { store in
            let db = store.database
            func book(_ a: JSONObject) async throws { _ = try await db.transaction { tx in try await store.create(a, type: "Appointment", in: tx) } }
            try await book(Self.appointment())
            // overlapping at either end, or inside, is refused
            for (start, end) in [
                ("2027-03-01T09:15:00Z", "2027-03-01T09:45:00Z"), ("2027-03-01T08:45:00Z", "2027-03-01T09:01:00Z"), ("2027-03-01T09:10:00Z", "2027-03-01T09:20:00Z"),
                ("2027-03-01T10:00:00+01:00", "2027-03-01T10:10:00+01:00"),
            ] {
                await #expect(throws: FHIRError.self, "\(start)–\(end)") { try await book(Self.appointment(start: start, end: end)) }
            }
            // back to back is fine, so is another practitioner, a declined participant, and a proposal
            try await book(Self.appointment(start: "2027-03-01T09:30:00Z", end: "2027-03-01T10:00:00Z"))
            try await book(Self.appointment(practitioner: "dr-b"))
            var declined = Self.appointment()
            declined["participant"] = [["actor": ["reference": "Practitioner/dr-a"], "status": "declined"]]
            try await book(declined)
            try await book(Self.appointment(status: "proposed"))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aSlotMustExistAndBeFree(_ kind: TestDatabaseKind) async throws {
        try await Self.withStore(kind) { store in
            let db = store.database
            _ = try await db.transaction { tx in try await store.update(Self.slot("closed", status: "busy-unavailable"), type: "Slot", id: "closed", ifMatch: nil, in: tx) }
            do {
                _ = try await db.transaction { tx in try await store.create(Self.appointment(slot: "missing"), type: "Appointment", in: tx) }
                Issue.record("booked a Slot that does not exist")
            } catch let error as FHIRError {
                #expect(error.status.code == 422)
                #expect(error.issues.first?.expression == ["Appointment.slot[0]"])
            }
            do {
                _ = try await db.transaction { tx in try await store.create(Self.appointment(slot: "closed"), type: "Appointment", in: tx) }
                Issue.record("booked a closed Slot")
            } catch { #expect(Self.isConflict(error)) }
            // staff's closing of the Slot is not undone by a cancellation elsewhere
            #expect(try await Self.slotStatus(store, "closed") == "busy-unavailable")
        }
    }
}
