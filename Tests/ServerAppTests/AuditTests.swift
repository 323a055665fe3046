import Audit
import FHIR
import Foundation
import HTTPTypes
import Kernel
import SQLKit
import ServerApp
import Storage
import TestSupport
import Testing

@Suite struct AuditTrailTests {
    /// AuditEvents about one patient, newest first.
    func events(_ s: TestServer, patient: String) async throws -> [JSON] {
        let reply = try await s.get("/fhir/AuditEvent?entity=Patient/\(patient)&_sort=-date&_count=100")
        return reply.entries.compactMap { $0["resource"] }
    }

    func subtype(_ e: JSON) -> String? { e["subtype"]?.arrayValue?.first?["code"]?.stringValue }

    @Test(arguments: TestDatabaseKind.allCases)
    func everyInteractionWithPatientDataIsAudited(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            // given a patient with an observation
            let pid = try await s.create(patientJSON)
            let oid = try await s.create(j(#"{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/\#(pid)"}}"#))
            // when: read, search, update, history, a failed read
            _ = try await s.get("/fhir/Observation/\(oid)")
            _ = try await s.get("/fhir/Observation?subject=Patient/\(pid)")
            var body = try await s.get("/fhir/Patient/\(pid)").body!.objectValue!
            body["gender"] = .string("other")
            _ = try await s.put("/fhir/Patient/\(pid)", .object(body))
            _ = try await s.get("/fhir/Patient/\(pid)/_history")
            #expect(try await s.get("/fhir/Observation/nope").code == 404)

            // then: one AuditEvent per interaction naming the patient (requests in the same
            // millisecond may tie on `recorded`, so compare without order)
            let trail = try await events(s, patient: pid)
            #expect(trail.compactMap(subtype).sorted() == ["create", "create", "history-instance", "read", "read", "search-type", "update"])
            let search = try #require(trail.first { subtype($0) == "search-type" })
            let query = search["entity"]?.arrayValue?.compactMap { $0["query"]?.stringValue }.first
            #expect(query.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } == "Observation?subject=Patient/\(pid)")
            #expect(trail.allSatisfy { $0["outcome"]?.stringValue == "0" })
            #expect(trail.allSatisfy { $0["agent"]?.arrayValue?.first?["requestor"]?.boolValue == true })

            // the failed read is audited as a minor failure with its reason
            let failures = try await s.get("/fhir/AuditEvent?outcome=4&_count=10").entries.compactMap { $0["resource"] }
            #expect(failures.contains { $0["outcomeDesc"]?.stringValue == "not-found" && subtype($0) == "read" })
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func requestsRefusedBeforeTheyStartAreAuditedToo(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            #expect(try await s.request(.post, "/fhir", body: "{not json", headers: [.contentType: "application/fhir+json"]).code == 400)
            #expect(try await s.request(.post, "/fhir/Patient/_search", body: "gender=male", headers: [.contentType: "text/plain"]).code == 415)
            let failures = try await s.get("/fhir/AuditEvent?outcome=4&_count=10").entries.compactMap { $0["resource"] }
            #expect(failures.contains { subtype($0) == "transaction" && $0["outcomeDesc"]?.stringValue == "structure" })
            #expect(failures.contains { subtype($0) == "search-type" && $0["outcomeDesc"]?.stringValue == "not-supported" })
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func auditEventsCannotBeWrittenThroughTheAPI(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            _ = try await s.create(patientJSON)
            let existing = try #require(try await s.get("/fhir/AuditEvent?_count=1").entries.first?["resource"])
            let id = try #require(existing["id"]?.stringValue)
            #expect(try await s.post("/fhir/AuditEvent", existing).code == 405)
            #expect(try await s.put("/fhir/AuditEvent/\(id)", existing).code == 405)
            #expect(try await s.request(.delete, "/fhir/AuditEvent/\(id)").code == 405)
            let patch = try await s.request(.patch, "/fhir/AuditEvent/\(id)", body: "[]", headers: [.contentType: "application/json-patch+json"])
            #expect(patch.code == 405)
            let bundle = j(#"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"AuditEvent/\#(id)"}}]}"#)
            #expect(try await s.post("/fhir", bundle).code == 405)
            #expect(try await s.get("/fhir/AuditEvent/\(id)")["meta"]?["versionId"]?.stringValue == "1")
        }
    }
}

@Suite struct AuditChainTests {
    /// A server with some audited activity; returns the checkpoint file.
    func activity(_ s: TestServer) async throws -> AuditCheckpointFile {
        for _ in 0..<3 { _ = try await s.create(patientJSON) }
        _ = try await s.get("/fhir/Patient")
        let file = AuditCheckpointFile(path: FileManager.default.temporaryDirectory.appendingPathComponent("hh-cp-\(UUID().uuidString).log").path)
        try file.record(try await s.services.database.read { try await AuditChain.head(on: $0) })
        return file
    }

    func verify(_ s: TestServer, _ file: AuditCheckpointFile?) async throws -> AuditVerifier.Result {
        try await AuditVerifier(trail: s.services.audit).verify(checkpoints: file)
    }

    func sql(_ s: TestServer, _ text: String) async throws {
        try await s.services.database.transaction { try await $0.sql.raw(SQLQueryString(text)).run() }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func anIntactChainVerifies(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let file = try await activity(s)
            #expect(try await verify(s, file) == .ok(records: 4))
            #expect(try file.entries().last?.seq == 4)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func changingARecordIsDetected(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let file = try await activity(s)
            // swap the sealed content of records 2 and 3
            try await sql(
                s,
                """
                UPDATE hh_audit_event SET content = (SELECT e3.content FROM hh_audit_event e3 WHERE e3.seq = 3) WHERE seq = 2
                """)
            guard case .broken(let seq, let reason) = try await verify(s, file) else { Issue.record("not detected"); return }
            #expect(seq == 2)
            #expect(reason.contains("altered"))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func deletingARecordIsDetected(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let file = try await activity(s)
            try await sql(s, "DELETE FROM hh_audit_event WHERE seq = 2")
            #expect(try await verify(s, file) == .broken(seq: 2, reason: "record 2 is missing (the next one is 3)"))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func reorderingRecordsIsDetected(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let file = try await activity(s)
            // swap what records 2 and 3 point at
            try await sql(s, "UPDATE hh_audit_event SET seq = -1 WHERE seq = 2")
            try await sql(s, "UPDATE hh_audit_event SET seq = 2 WHERE seq = 3")
            try await sql(s, "UPDATE hh_audit_event SET seq = 3 WHERE seq = -1")
            guard case .broken(let seq, let reason) = try await verify(s, file) else { Issue.record("not detected"); return }
            #expect(seq == 2)
            #expect(reason.contains("does not link"))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func cuttingOffTheNewestRecordsIsDetectedByTheCheckpoint(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let file = try await activity(s)
            try await sql(s, "DELETE FROM hh_audit_event WHERE seq >= 3")
            // without the checkpoint the shorter chain looks whole; with it, it does not
            #expect(try await verify(s, nil) == .ok(records: 2))
            guard case .broken(let seq, let reason) = try await verify(s, file) else { Issue.record("not detected"); return }
            #expect(seq == 3)
            #expect(reason.contains("removed from the end"))
        }
    }
}

@Suite struct AuditVerifyWhileWritingTests {
    /// Checkpoints written while `audit verify` walks the chain never make it report a break.
    @Test(arguments: TestDatabaseKind.allCases)
    func checkpointsWrittenDuringAVerificationAreNoFalseBreak(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let file = AuditCheckpointFile(path: FileManager.default.temporaryDirectory.appendingPathComponent("hh-cp-\(UUID().uuidString).log").path)
            for _ in 0..<20 { _ = try await s.create(patientJSON) }
            let writer = Task {
                for _ in 0..<60 {
                    _ = try await s.create(patientJSON)
                    try file.record(try await s.services.database.read { try await AuditChain.head(on: $0) })
                }
            }
            var results: [AuditVerifier.Result] = []
            while !writer.isCancelled, results.count < 200 {
                results.append(try await AuditVerifier(trail: s.services.audit).verify(checkpoints: file))
                if results.count >= 20 { break }
            }
            try await writer.value
            results.append(try await AuditVerifier(trail: s.services.audit).verify(checkpoints: file))
            #expect(results.allSatisfy { if case .ok = $0 { true } else { false } }, "\(results.filter { if case .ok = $0 { false } else { true } }.prefix(3))")
            #expect(try file.entries().count >= 50)
        }
    }
}

@Suite struct AuditCheckpointFileNameTests {
    @Test func eachDatabaseHasItsOwnCheckpointFile() throws {
        #expect(HealthHubConfiguration.defaultAuditCheckpointFile(for: .sqlite(path: "data/a.db")) == "data/a.db.audit-checkpoints")
        let pg = try DatabaseURL("postgres://u:p@db.example:5433/hh")
        // never in the folder of whoever started the server: on PostgreSQL only where configured
        #expect(HealthHubConfiguration.defaultAuditCheckpointFile(for: pg) == nil)
        var config = HealthHubConfiguration()
        config.database = pg
        #expect(config.resolvedMasterKeyFile == nil)
        config.auditCheckpointFile = "/var/lib/hh/audit.log"
        #expect(config.resolvedAuditCheckpointFile == "/var/lib/hh/audit.log")
        // the master key sits beside an SQLite database (data/master.key for data/healthhub.db)
        #expect(HealthHubConfiguration.defaultMasterKeyFile(for: .sqlite(path: "/srv/hh/data/healthhub.db")) == "/srv/hh/data/master.key")
    }
}
