import FHIR
import Foundation
import HTTPTypes
import Kernel
import TestSupport
import Testing

/// Many values and many parameters get an answer or a clear 400, never a 500.
@Suite struct SearchLimitsTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func hundredsOfValuesAreAnsweredAndMoreAreRefusedClearly(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let f = try await SearchFixture.load(s)
            let codes = (0..<499).map { "code-\($0)" } + ["8867-4"]
            let plain = try await s.get("/fhir/Observation?code=" + codes.joined(separator: ","))
            #expect(plain.code == 200)
            #expect(Set(plain.entries.compactMap { $0["resource"]?["id"]?.stringValue }) == [f.pulse1, f.pulse2])
            let systems = try await s.get("/fhir/Observation?code=" + codes.map { "http://loinc.org|\($0)" }.joined(separator: ","))
            #expect(systems.code == 200 && systems.entries.count == 2)
            let names = try await s.get("/fhir/Patient?family=" + ((0..<499).map { "nobody\($0)" } + ["Okafor"]).joined(separator: ","))
            #expect(names.code == 200 && names.entries.count == 1)
            let ids = try await s.get("/fhir/Patient?_id=" + ((0..<499).map { "x\($0)" } + [f.p3]).joined(separator: ","))
            #expect(ids.code == 200 && ids.entries.count == 1)
            let tooMany = try await s.get("/fhir/Observation?code=" + (0..<501).map { "c\($0)" }.joined(separator: ","))
            #expect(tooMany.code == 400 && tooMany.issueCodes == ["too-costly"])
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func pagingValuesAreCheckedBeforeAnyArithmetic(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            _ = try await SearchFixture.load(s)
            // once a crash of the whole server (offset + count overflowed), now a 400
            for path in [
                "/fhir/Observation/_history?_count=5&_offset=9223372036854775807", "/fhir/_history?_offset=9223372036854775807",
                "/fhir/Observation?_offset=9223372036854775807", "/fhir/Observation/_history?_offset=-2", "/fhir/Observation/_history?_count=-1",
                "/fhir/Observation?_count=99999999999999999999", "/fhir/Observation/_history?_offset=1000001",
            ] {
                let r = try await s.get(path)
                #expect(r.code == 400 && r.issueCodes == ["invalid"], "\(path) -> \(r.code)")
            }
            #expect(try await s.get("/fhir/Observation/_history?_offset=1000000").code == 200)
            #expect(try await s.get("/health", as: .anonymous).code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aFormBodySearchIsHeldToTheParameterCap(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let form = (0..<101).map { "family=a\($0)" }.joined(separator: "&")
            let reply = try await s.request(.post, "/fhir/Patient/_search", body: form, headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(reply.code == 400 && reply.issueCodes == ["too-costly"])
            let fine = (0..<50).map { "family=a\($0)" }.joined(separator: "&")
            #expect(try await s.request(.post, "/fhir/Patient/_search", body: fine, headers: [.contentType: "application/x-www-form-urlencoded"]).code == 200)
            // and over all parameters together
            let wide = (0..<5).map { p in "family=" + (0..<450).map { "v\(p)-\($0)" }.joined(separator: ",") }.joined(separator: "&")
            let reply2 = try await s.request(.post, "/fhir/Patient/_search", body: wide, headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(reply2.code == 400 && reply2.issueCodes == ["too-costly"])
        }
    }
}
