import FHIR
import Foundation
import Gateway
import HTTPTypes
import ServerApp
import TestSupport
import Testing

@Suite struct RateLimitTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func bucketsByAddressUserAndClientAnswer429WithRetryAfter(_ kind: TestDatabaseKind) async throws {
        var config = HealthHubConfiguration()
        config.gateway.rateLimits.client = .init(capacity: 25, perSecond: 0)
        config.gateway.rateLimits.authentication = .init(capacity: 3, perSecond: 0)
        try await TestServer.run(kind, configuration: config) { s in
            // every answer says where the caller stands
            let first = try await s.get("/fhir/Patient/x")  // a read costs 1
            #expect(first.headers[HTTPField.Name("RateLimit-Limit")!] == "25")
            #expect(first.headers[HTTPField.Name("RateLimit-Remaining")!] == "24")
            #expect(try await s.get("/fhir/Patient").headers[HTTPField.Name("RateLimit-Remaining")!] == "14")  // a search costs 10
            #expect(try await s.get("/fhir/Patient").code == 200)
            let refused = try await s.get("/fhir/Patient")
            #expect(refused.code == 429)
            #expect(refused.headers[.retryAfter] != nil)
            #expect(refused.issueCodes == ["throttled"])
            #expect(refused.headers[.xContentTypeOptions] == "nosniff")
            // another client is not affected
            let other = try await TestServer.systemToken(s.services)
            #expect(try await s.get("/fhir/Patient", as: .bearer(other)).code == 200)
            // sign-in attempts have their own, stricter budget per address
            for _ in 0..<3 {
                let attempt = try await s.request(.post, "/login", body: "", as: .anonymous)
                #expect(attempt.code != 429)
            }
            #expect(try await s.request(.post, "/login", body: "", as: .anonymous).code == 429)
            #expect(try await s.request(.post, "/oauth/token", body: "", as: .anonymous).code == 429)
        }
    }

    @Test func limitsCanBeTurnedOff() async throws {
        var config = HealthHubConfiguration()
        config.gateway.rateLimits.enabled = false
        config.gateway.rateLimits.client = .init(capacity: 1, perSecond: 0)
        try await TestServer.run(.sqlite, configuration: config) { s in
            for _ in 0..<3 {
                let reply = try await s.get("/fhir/Patient")
                #expect(reply.code == 200)
            }
            let last = try await s.get("/fhir/Patient")
            #expect(last.headers[HTTPField.Name("RateLimit-Limit")!] == nil)
        }
    }
}
