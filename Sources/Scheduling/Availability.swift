import Foundation

/// A time of day on a wall clock, in minutes after midnight (`09:30` → 570).
package struct LocalTime: Sendable, Hashable, Comparable {
    package let minutes: Int

    package init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count >= 2, parts.count <= 3, let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0..<60).contains(m),
            h * 60 + m <= 24 * 60, parts.count == 2 || Int(parts[2]) == 0
        else { return nil }
        minutes = h * 60 + m
    }

    package init(minutes: Int) { self.minutes = minutes }

    package static func < (a: LocalTime, b: LocalTime) -> Bool { a.minutes < b.minutes }
}

/// When a practice (or one practitioner) is open: weekly windows on the wall clock of its IANA
/// time zone, minus closures (holidays, leave). Windows are turned into instants day by day in
/// that zone, so an opening at 09:00 stays at 09:00 local across daylight-saving changes.
package struct AvailabilityRules: Sendable {
    /// Open on `days` (ISO weekdays, 1 = Monday … 7 = Sunday) from `start` to `end`.
    package struct Weekly: Sendable, Hashable {
        package let days: Set<Int>
        package let start: LocalTime
        package let end: LocalTime

        package init(days: Set<Int>, start: LocalTime, end: LocalTime) {
            self.days = days
            self.start = start
            self.end = end
        }
    }

    /// Closed from `start` to `end` (instants, ms).
    package struct Closure: Sendable, Hashable {
        package let start: Int64
        package let end: Int64

        package init(start: Int64, end: Int64) {
            self.start = start
            self.end = end
        }
    }

    package let timeZone: TimeZone
    package let weekly: [Weekly]
    package let closures: [Closure]

    package init(timeZone: TimeZone, weekly: [Weekly], closures: [Closure] = []) {
        self.timeZone = timeZone
        self.weekly = weekly
        self.closures = closures
    }

    var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        return c
    }

    /// A whole local day closed (a holiday): from its midnight to the next, in the zone.
    package func closedDay(year: Int, month: Int, day: Int) -> Closure? {
        let c = calendar
        guard let start = c.date(from: DateComponents(year: year, month: month, day: day)),
            let end = c.date(byAdding: .day, value: 1, to: start)
        else { return nil }
        return Closure(start: Self.millis(start), end: Self.millis(end))
    }

    /// The opening windows that meet [from, to), as instants, in order. A window whose local
    /// start does not exist (the hour skipped when clocks go forward) starts at the first
    /// minute that does; in the repeated hour when clocks go back, the first occurrence counts.
    package func windows(from: Int64, to: Int64) -> [(start: Int64, end: Int64)] {
        let c = calendar
        guard from < to, var day = c.dateInterval(of: .day, for: Self.date(from))?.start else { return [] }
        var out: [(Int64, Int64)] = []
        while Self.millis(day) < to {
            let parts = c.dateComponents([.year, .month, .day, .weekday], from: day)
            let iso = ((parts.weekday ?? 1) + 5) % 7 + 1
            for rule in weekly where rule.days.contains(iso) && rule.start < rule.end {
                guard let start = instant(c, parts, rule.start), let end = instant(c, parts, rule.end), start < end, end > from, start < to else { continue }
                out.append((start, end))
            }
            guard let next = c.date(byAdding: .day, value: 1, to: day) else { break }
            day = next
        }
        return out.sorted { $0.0 < $1.0 }
    }

    private func instant(_ c: Calendar, _ day: DateComponents, _ time: LocalTime) -> Int64? {
        var parts = DateComponents(year: day.year, month: day.month, day: day.day, hour: time.minutes / 60, minute: time.minutes % 60)
        if time.minutes == 24 * 60 {  // end of day: the next midnight
            parts.hour = 0
            parts.minute = 0
            guard let midnight = c.date(from: parts), let next = c.date(byAdding: .day, value: 1, to: midnight) else { return nil }
            return Self.millis(next)
        }
        return c.date(from: parts).map(Self.millis)
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

/// A kind of appointment: how long it takes, the time kept free before and after it, and how
/// many a patient may book in a period.
package struct AppointmentKind: Sendable, Hashable {
    package let code: String
    package let display: String
    package let minutes: Int
    package let bufferBefore: Int
    package let bufferAfter: Int
    /// At most `count` active appointments of this kind per patient within `days` days.
    package let limit: (count: Int, days: Int)?

    package init(code: String, display: String, minutes: Int, bufferBefore: Int = 0, bufferAfter: Int = 0, limit: (count: Int, days: Int)? = nil) {
        self.code = code
        self.display = display
        self.minutes = minutes
        self.bufferBefore = bufferBefore
        self.bufferAfter = bufferAfter
        self.limit = limit
    }

    package static func == (a: AppointmentKind, b: AppointmentKind) -> Bool { a.code == b.code }
    package func hash(into h: inout Hasher) { h.combine(code) }
}

/// Time a practitioner already gives to something (an appointment, a hold), with that
/// appointment's own buffers.
package struct BusyTime: Sendable, Hashable {
    package let start: Int64
    package let end: Int64
    package let bufferBefore: Int64
    package let bufferAfter: Int64

    package init(start: Int64, end: Int64, bufferBefore: Int64 = 0, bufferAfter: Int64 = 0) {
        self.start = start
        self.end = end
        self.bufferBefore = bufferBefore
        self.bufferAfter = bufferAfter
    }
}

package enum Availability {
    static let minute: Int64 = 60_000

    /// The times an appointment of `kind` can start within [from, to): inside an opening
    /// window, outside every closure, stepped by `step` minutes from each window's start (by
    /// default the kind's length with its buffers, so back-to-back bookings fill a window). A time is free when the appointment with its buffers
    /// meets no busy time, and the appointment itself meets no busy time's buffers.
    package static func free(rules: AvailabilityRules, kind: AppointmentKind, busy: [BusyTime], from: Int64, to: Int64, step: Int? = nil) -> [(start: Int64, end: Int64)] {
        let length = Int64(kind.minutes) * minute
        let stride = Int64(max(step ?? kind.bufferBefore + kind.minutes + kind.bufferAfter, 1)) * minute
        let before = Int64(kind.bufferBefore) * minute
        let after = Int64(kind.bufferAfter) * minute
        guard length > 0 else { return [] }
        var out: [(Int64, Int64)] = []
        for window in rules.windows(from: from, to: to) {
            var t = window.start
            while t + length <= window.end {
                defer { t += stride }
                let end = t + length
                guard t >= from, end <= to else { continue }
                if rules.closures.contains(where: { $0.start < end && $0.end > t }) { continue }
                let taken = busy.contains { b in
                    (t - before < b.end && end + after > b.start) || (t < b.end + b.bufferAfter && end > b.start - b.bufferBefore)
                }
                if !taken { out.append((t, end)) }
            }
        }
        return out
    }
}
