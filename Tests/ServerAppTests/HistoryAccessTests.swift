import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Every version a history returns passes the access rules of that version, in the SQL: a
/// resource that moves from one patient to another does not take its old versions along.
@Suite struct HistoryAccessTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func aMovedResourceLeavesItsOldVersionsWithTheirPatient(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let b = try await s.services.identity.accounts.create(
                email: "brennan@example.org", role: .patient, password: AccessWorld.password,
                patientID: w.pb, practitionerID: nil)
            let asA = try w.caller(w.patient, "patient/*.rs")
            let asB = try w.caller(b, "patient/*.rs")
            // written for A with A's detail, then moved to B
            let moved = try await s.create(j(#"{"resourceType":"Observation","status":"final","code":{"text":"marker-old-a"},"subject":{"reference":"Patient/\#(w.pa)"}}"#))
            let put = try await s.put(
                "/fhir/Observation/\(moved)",
                j(#"{"resourceType":"Observation","id":"\#(moved)","status":"amended","code":{"text":"moved-to-b"},"subject":{"reference":"Patient/\#(w.pb)"}}"#))
            #expect(put.code == 200)

            func versions(_ caller: TestServer.Caller) async throws -> (ids: [String], total: Int?, text: String) {
                let r = try await s.get("/fhir/Observation/_history?_count=100", as: caller)
                #expect(r.code == 200)
                let ids = r.entries.compactMap { e -> String? in
                    guard let res = e["resource"], res["id"]?.stringValue == moved else { return nil }
                    return res["meta"]?["versionId"]?.stringValue
                }
                return (ids, r.total, r.text)
            }
            let seenByB = try await versions(asB)
            #expect(seenByB.ids == ["2"])
            #expect(!seenByB.text.contains("marker-old-a"))
            #expect(seenByB.total == 2)  // obsB and the moved one's version 2
            let seenByA = try await versions(asA)
            #expect(seenByA.ids == ["1"])
            #expect(!seenByA.text.contains("moved-to-b"))
            // a deletion belongs to the patient of the version it deletes
            #expect(try await s.request(.delete, "/fhir/Observation/\(moved)").code == 204)
            let afterDelete = try await s.get("/fhir/Observation/_history?_count=100", as: asB)
            let deletions = afterDelete.entries.filter { $0["request"]?["method"]?.stringValue == "DELETE" }
            #expect(deletions.count == 1)
            let deletionsForA = try await s.get("/fhir/Observation/_history?_count=100", as: asA).entries.filter { $0["request"]?["method"]?.stringValue == "DELETE" }
            #expect(deletionsForA.isEmpty)
            // paging under the filter: totals and pages count only visible versions
            let paged = try await s.get("/fhir/Observation/_history?_count=1", as: asB)
            #expect(paged.entries.count == 1)
            #expect(paged.total == 3)
        }
    }
}
