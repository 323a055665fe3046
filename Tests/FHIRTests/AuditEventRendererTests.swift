import FHIR
import Foundation
import Kernel
import Testing

@Suite struct AuditEventRendererTests {
    static let definitions = try! FHIRDefinitions.loadBundled()

    @Test func rendersAValidBALPStyleAuditEvent() throws {
        let record = AuditRecord(
            action: .read, interaction: "search-type", outcome: .minorFailure, outcomeCode: "not-found",
            agent: "Practitioner/7", agentRole: "practitioner", networkAddress: "10.1.2.3",
            patients: ["Patient/1", "Patient/2"], resources: ["Observation/9"],
            query: "Observation?patient=1", purposeOfUse: "TREAT", requestID: "req-1",
            recorded: Date(timeIntervalSince1970: 1_795_000_000))
        let event = JSON.object(AuditEventRenderer().render(record))
        #expect(ResourceValidator(definitions: Self.definitions).validate(event).isEmpty)
        #expect(event["recorded"]?.stringValue == "2026-11-18T11:06:40.000Z")
        #expect(event["outcome"]?.stringValue == "4")
        let entities = event["entity"]?.arrayValue ?? []
        #expect(entities.compactMap { $0["what"]?["reference"]?.stringValue } == ["Patient/1", "Patient/2", "Observation/9"])
        #expect(entities.compactMap { $0["query"]?.stringValue }.first == Data("Observation?patient=1".utf8).base64EncodedString())
        #expect(event["agent"]?.arrayValue?.first?["who"]?["reference"]?.stringValue == "Practitioner/7")
    }

    @Test func nonRESTEventsUseHealthHubsOwnSubtypes() {
        let event = AuditEventRenderer().render(AuditRecord(action: .create, interaction: "import", agent: "healthhub import"))
        #expect(event["subtype"]?.arrayValue?.first?["system"]?.stringValue == "urn:healthhub:audit-event-subtype")
        #expect(event["agent"]?.arrayValue?.first?["who"]?["display"]?.stringValue == "healthhub import")
    }
}

@Suite struct AuditEventStampTests {
    @Test func theStoredBytesAreTheEventStampedWithItsIdAndMeta() throws {
        let record = AuditRecord(action: .read, interaction: "read", agent: "Patient/1", recorded: Date(timeIntervalSince1970: 1_795_000_000))
        let bytes = AuditEventRenderer().render(record, id: "ev-1", recorded: 1_795_000_000_123)
        let event = try JSON.parse(bytes)
        #expect(event["resourceType"]?.stringValue == "AuditEvent")
        #expect(event["id"]?.stringValue == "ev-1")
        #expect(event["meta"]?["versionId"]?.stringValue == "1")
        #expect(event["meta"]?["lastUpdated"]?.stringValue == "2026-11-18T11:06:40.123Z")
        #expect(String(decoding: bytes.prefix(28), as: UTF8.self) == #"{"resourceType":"AuditEvent""#)
    }
}
