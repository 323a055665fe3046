import Foundation
import Kernel
import Testing

@Suite struct InstantTests {
    @Test func writesAnInstantInAZoneAsISO8601DateFormatterWould() {
        let f = ISO8601DateFormatter()
        for zone in ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/St_Johns", "Pacific/Kiritimati"] {
            let tz = TimeZone(identifier: zone)!
            f.timeZone = tz
            // across the year (both sides of daylight saving), and before 1970
            for millis: Int64 in [0, 1_803_654_000_000, 1_804_000_000_000, 1_815_000_000_000, 1_825_000_000_999, -86_400_000 * 365] {
                #expect(Instant.format(millis: millis, in: tz) == f.string(from: Date(timeIntervalSince1970: Double(millis / 1000))), "\(zone) \(millis)")
            }
        }
    }

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

/// A clock a test moves by hand.
final class HandClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    init(_ start: Date) { current = start }
    func now() -> Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

@Suite struct NowTests {
    @Test func theTasksClockIsTheOneInForceAndTasksStartedInsideInheritIt() async {
        let clock = HandClock(Date(timeIntervalSince1970: 1_000_000))
        await Now.$clock.withValue(clock) {
            #expect(Now.date == Date(timeIntervalSince1970: 1_000_000))
            clock.advance(60)
            #expect(await Task { Now.date }.value == Date(timeIntervalSince1970: 1_000_060))
        }
        #expect(abs(Now.date.timeIntervalSinceNow) < 5)
    }
}
