import Foundation
import Kernel
import Testing

@Suite struct InstantTests {
    @Test func formatsMillisecondsAsUTCInstant() {
        #expect(Instant.format(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Instant.format(millis: 1_795_000_000_123) == "2026-11-18T11:06:40.123Z")
        #expect(Instant.format(millis: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test func formatsHTTPDates() {
        #expect(Instant.httpDate(millis: 1_795_000_000_123) == "Wed, 18 Nov 2026 11:06:40 GMT")
    }
}

@Suite struct ResourceIDTests {
    @Test(arguments: ["a", "123", "abc-DEF.9", String(repeating: "x", count: 64)])
    func acceptsValidIDs(_ id: String) { #expect(ResourceID.isValid(id)) }

    @Test(arguments: ["", "a b", "a/b", "ü", String(repeating: "x", count: 65), "a_b"])
    func rejectsInvalidIDs(_ id: String) { #expect(!ResourceID.isValid(id)) }

    @Test func generatedIDsAreValidAndDistinct() {
        let ids = (0..<100).map { _ in ResourceID.generate() }
        #expect(ids.allSatisfy(ResourceID.isValid))
        #expect(Set(ids).count == 100)
    }
}
