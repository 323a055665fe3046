import Foundation
import Scheduling
import Testing

/// Weekly rules on a practice's wall clock, turned into instants across daylight-saving
/// changes, minus closures, busy time and buffers.
@Suite struct AvailabilityTests {
    static let newYork = TimeZone(identifier: "America/New_York")!
    static func ms(_ iso: String) -> Int64 {
        let f = ISO8601DateFormatter()
        return Int64(f.date(from: iso)!.timeIntervalSince1970 * 1000)
    }
    static func iso(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
    static let weekdayMornings = AvailabilityRules(
        timeZone: newYork, weekly: [.init(days: [1, 2, 3, 4, 5], start: LocalTime("09:00")!, end: LocalTime("12:00")!)])
    static let visit = AppointmentKind(code: "follow-up", display: "Follow-up visit", minutes: 30)

    @Test func localTimesParse() {
        #expect(LocalTime("09:30")?.minutes == 570)
        #expect(LocalTime("09:30:00")?.minutes == 570)
        #expect(LocalTime("24:00")?.minutes == 1440)
        for bad in ["9", "25:00", "24:01", "12:60", "ab:cd", "09:30:15", ""] { #expect(LocalTime(bad) == nil, "\(bad)") }
    }

    @Test func nineOClockStaysNineOClockAcrossDaylightSavingChanges() {
        // Friday 12 March 2027 (EST, UTC-5) and Monday 15 March (EDT, UTC-4): clocks went forward on the 14th
        let windows = Self.weekdayMornings.windows(from: Self.ms("2027-03-12T00:00:00Z"), to: Self.ms("2027-03-16T00:00:00Z"))
        #expect(windows.map { Self.iso($0.start) } == ["2027-03-12T14:00:00Z", "2027-03-15T13:00:00Z"])
        #expect(windows.map { ($0.end - $0.start) / 60_000 } == [180, 180])
        // and back in November (7 Nov 2027)
        let autumn = Self.weekdayMornings.windows(from: Self.ms("2027-11-05T00:00:00Z"), to: Self.ms("2027-11-09T00:00:00Z"))
        #expect(autumn.map { Self.iso($0.start) } == ["2027-11-05T13:00:00Z", "2027-11-08T14:00:00Z"])
    }

    @Test func aWindowInTheSkippedHourStartsWhenTheClockResumes() {
        // a Sunday opening 02:00–04:00 on the night clocks go from 02:00 to 03:00: one real hour
        let night = AvailabilityRules(timeZone: Self.newYork, weekly: [.init(days: [7], start: LocalTime("02:00")!, end: LocalTime("04:00")!)])
        let w = night.windows(from: Self.ms("2027-03-14T00:00:00Z"), to: Self.ms("2027-03-15T00:00:00Z"))
        #expect(w.count == 1)
        #expect(Self.iso(w[0].end) == "2027-03-14T08:00:00Z")  // 04:00 EDT
        #expect((w[0].end - w[0].start) / 60_000 == 60)
    }

    @Test func freeTimesSkipClosuresBusyTimeAndBuffers() {
        let from = Self.ms("2027-03-01T00:00:00Z")  // a Monday
        let to = Self.ms("2027-03-02T00:00:00Z")
        let all = Availability.free(rules: Self.weekdayMornings, kind: Self.visit, busy: [], from: from, to: to)
        #expect(
            all.map { Self.iso($0.start) } == [
                "2027-03-01T14:00:00Z", "2027-03-01T14:30:00Z", "2027-03-01T15:00:00Z", "2027-03-01T15:30:00Z", "2027-03-01T16:00:00Z", "2027-03-01T16:30:00Z",
            ])
        // 10:00–10:30 local is booked
        let booked = BusyTime(start: Self.ms("2027-03-01T15:00:00Z"), end: Self.ms("2027-03-01T15:30:00Z"))
        let around = Availability.free(rules: Self.weekdayMornings, kind: Self.visit, busy: [booked], from: from, to: to)
        #expect(!around.contains { $0.start == booked.start })
        #expect(around.count == 5)
        // with 15 minutes kept free after each new-patient visit, starts are 45 minutes apart, and
        // one that would run into the booking (buffer included) is not offered
        let buffered = AppointmentKind(code: "new", display: "New patient", minutes: 30, bufferAfter: 15)
        let withBuffer = Availability.free(rules: Self.weekdayMornings, kind: buffered, busy: [booked], from: from, to: to)
        #expect(withBuffer.map { Self.iso($0.start) } == ["2027-03-01T14:00:00Z", "2027-03-01T15:30:00Z", "2027-03-01T16:15:00Z"])
        #expect(Availability.free(rules: Self.weekdayMornings, kind: buffered, busy: [], from: from, to: to, step: 30).count == 6)
        // the booked appointment's own buffer after it keeps 10:30 free of a plain visit
        let bookedWithBuffer = BusyTime(start: booked.start, end: booked.end, bufferAfter: 15 * 60_000)
        let afterTheirs = Availability.free(rules: Self.weekdayMornings, kind: Self.visit, busy: [bookedWithBuffer], from: from, to: to)
        #expect(!afterTheirs.contains { Self.iso($0.start) == "2027-03-01T15:30:00Z" })
        #expect(afterTheirs.count == 4)
        // a holiday closes the whole local day
        let holiday = AvailabilityRules(timeZone: Self.newYork, weekly: Self.weekdayMornings.weekly, closures: [Self.weekdayMornings.closedDay(year: 2027, month: 3, day: 1)!])
        #expect(Availability.free(rules: holiday, kind: Self.visit, busy: [], from: from, to: to).isEmpty)
        // a window shorter than the visit offers nothing; a step shorter than the visit offers more starts
        let long = AppointmentKind(code: "long", display: "Long", minutes: 240)
        #expect(Availability.free(rules: Self.weekdayMornings, kind: long, busy: [], from: from, to: to).isEmpty)
        #expect(Availability.free(rules: Self.weekdayMornings, kind: Self.visit, busy: [], from: from, to: to, step: 15).count == 11)
    }

    @Test func onlyTheRangeAskedForIsOffered() {
        let from = Self.ms("2027-03-01T15:10:00Z")
        let to = Self.ms("2027-03-01T16:30:00Z")
        let some = Availability.free(rules: Self.weekdayMornings, kind: Self.visit, busy: [], from: from, to: to)
        #expect(some.map { Self.iso($0.start) } == ["2027-03-01T15:30:00Z", "2027-03-01T16:00:00Z"])
        #expect(Availability.free(rules: Self.weekdayMornings, kind: Self.visit, busy: [], from: to, to: from).isEmpty)
        // a weekend has nothing
        #expect(Self.weekdayMornings.windows(from: Self.ms("2027-03-06T00:00:00Z"), to: Self.ms("2027-03-08T00:00:00Z")).isEmpty)
    }
}
