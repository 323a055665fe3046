import Events
import FHIR
import Foundation
import HTTPTypes
import Kernel
import ServerApp
import TestSupport
import Testing

/// No double booking through the FHIR API: plain creates, updates and transaction Bundles all
/// meet the same rule (Scheduling's BookingRule, run by the store in the write's transaction).
@Suite struct BookingTests {
    static func appointment(slot: String, practitioner: String, id: String? = nil, status: String = "booked") -> JSON {
        let idField = id.map { #""id":"\#($0)","# } ?? ""
        return j(
            #"{"resourceType":"Appointment",\#(idField)"status":"\#(status)","start":"2027-03-01T09:00:00Z","end":"2027-03-01T09:30:00Z","slot":[{"reference":"Slot/\#(slot)"}],"participant":[{"actor":{"reference":"Practitioner/\#(practitioner)"},"status":"accepted"}]}"#
        )
    }

    static func makeSlot(_ s: TestServer) async throws -> String {
        try await s.create(
            j(#"{"resourceType":"Slot","schedule":{"reference":"Schedule/s1"},"status":"free","start":"2027-03-01T09:00:00Z","end":"2027-03-01T09:30:00Z"}"#))
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func fiftyConcurrentCreatesOnOneSlotBookItOnce(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let slot = try await Self.makeSlot(s)
            let codes = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<50 { group.addTask { try await s.post("/fhir/Appointment", Self.appointment(slot: slot, practitioner: "dr-\(n)")).code } }
                var all: [Int] = []
                for try await code in group { all.append(code) }
                return all
            }
            #expect(codes.filter { $0 == 201 }.count == 1)
            #expect(codes.filter { $0 == 409 }.count == 49)
            #expect(try await s.get("/fhir/Slot/\(slot)")["status"]?.stringValue == "busy")
            #expect(try await s.get("/fhir/Appointment?_total=accurate").total == 1)
            let refused = try await s.post("/fhir/Appointment", Self.appointment(slot: slot, practitioner: "dr-x"))
            #expect(refused.code == 409)
            #expect(refused.issueCodes == ["conflict"])
            #expect(refused.issueExpressions == ["Appointment.slot[0]"])
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func everyWritePathMeetsTheRule(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let slot = try await Self.makeSlot(s)
            // two bookings of one Slot in a transaction: the whole Bundle fails, nothing is stored
            let both = j(
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Appointment"},"resource":\#(Self.appointment(slot: slot, practitioner: "a").serializedString())},{"request":{"method":"POST","url":"Appointment"},"resource":\#(Self.appointment(slot: slot, practitioner: "b").serializedString())}]}"#
            )
            #expect(try await s.post("/fhir", both).code == 409)
            #expect(try await s.get("/fhir/Appointment?_total=accurate").total == 0)
            #expect(try await s.get("/fhir/Slot/\(slot)")["status"]?.stringValue == "free")
            // update at a chosen id, then a second one by PUT is refused
            #expect(try await s.put("/fhir/Appointment/first", Self.appointment(slot: slot, practitioner: "a", id: "first")).code == 201)
            #expect(try await s.put("/fhir/Appointment/second", Self.appointment(slot: slot, practitioner: "b", id: "second")).code == 409)
            // a proposal does not hold the Slot; turning it into a booking by PATCH is refused
            #expect(try await s.put("/fhir/Appointment/third", Self.appointment(slot: slot, practitioner: "c", id: "third", status: "proposed")).code == 201)
            let patch = try await s.request(
                .patch, "/fhir/Appointment/third", body: #"[{"op":"replace","path":"/status","value":"booked"}]"#,
                headers: [.contentType: "application/json-patch+json"])
            #expect(patch.code == 409)
            // cancelling the first frees the Slot for the third
            #expect(try await s.put("/fhir/Appointment/first", Self.appointment(slot: slot, practitioner: "a", id: "first", status: "cancelled")).code == 200)
            #expect(try await s.get("/fhir/Slot/\(slot)")["status"]?.stringValue == "free")
            #expect(try await s.put("/fhir/Appointment/third", Self.appointment(slot: slot, practitioner: "c", id: "third")).code == 200)
            #expect(try await s.get("/fhir/Slot/\(slot)")["status"]?.stringValue == "busy")
            // each change that was committed is one event, in order; the refused ones left none
            let events = try await s.services.events.events(after: 0)
            #expect(events.map(\.topic) == ["appointment.booked", "appointment.proposed", "appointment.cancelled", "appointment.booked"])
            #expect(events.map(\.subject) == ["Appointment/first", "Appointment/third", "Appointment/first", "Appointment/third"])
            #expect(events.map(\.seq) == [1, 2, 3, 4])
        }
    }
}
