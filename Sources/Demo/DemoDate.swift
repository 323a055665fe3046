import Kernel

/// Proleptic Gregorian calendar arithmetic for the demo generator, on plain seconds since
/// 1970-01-01T00:00:00Z, so generated dates never depend on the machine's clock or time zone.
enum DemoDate {
    static let secondsPerDay = 86_400

    /// The fixed "now" of the demo population: 2026-01-01T00:00:00Z.
    static let reference = epochSeconds(year: 2026, month: 1, day: 1)

    static func days(year: Int, month: Int, day: Int) -> Int { CivilCalendar.days(year: year, month: month, day: day) }

    static func civil(days: Int) -> (year: Int, month: Int, day: Int) { CivilCalendar.civil(days: days) }

    static func epochSeconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Int {
        days(year: year, month: month, day: day) * secondsPerDay + hour * 3600 + minute * 60 + second
    }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func civil(seconds: Int) -> (year: Int, month: Int, day: Int) {
        civil(days: floorDiv(seconds, secondsPerDay))
    }

    /// Whole years between a birth date and a moment.
    static func age(birth: Int, at moment: Int) -> Int {
        let b = civil(seconds: birth)
        let m = civil(seconds: moment)
        var years = m.year - b.year
        if (m.month, m.day) < (b.month, b.day) { years -= 1 }
        return years
    }

    /// Same month and day `years` later (29 February becomes 28 February).
    static func adding(years: Int, to seconds: Int) -> Int {
        let c = civil(seconds: seconds)
        let timeOfDay = seconds - floorDiv(seconds, secondsPerDay) * secondsPerDay
        let day = (c.month == 2 && c.day == 29) ? 28 : c.day
        return days(year: c.year + years, month: c.month, day: day) * secondsPerDay + timeOfDay
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// FHIR `date`: YYYY-MM-DD (UTC calendar day of the moment).
    static func date(_ seconds: Int) -> String {
        let c = civil(seconds: seconds)
        return pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2)
    }

    /// FHIR `dateTime` in local time with an explicit offset, e.g. 2024-03-05T09:30:00-05:00.
    static func dateTime(_ seconds: Int, offsetMinutes: Int) -> String {
        let local = seconds + offsetMinutes * 60
        let dayStart = floorDiv(local, secondsPerDay)
        let c = civil(days: dayStart)
        let t = local - dayStart * secondsPerDay
        let sign = offsetMinutes < 0 ? "-" : "+"
        let off = abs(offsetMinutes)
        return pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2) + "T"
            + pad(t / 3600, 2) + ":" + pad(t % 3600 / 60, 2) + ":" + pad(t % 60, 2)
            + sign + pad(off / 60, 2) + ":" + pad(off % 60, 2)
    }

    /// FHIR `instant` in UTC, e.g. 2024-03-05T14:30:00Z.
    static func instant(_ seconds: Int) -> String {
        let dayStart = floorDiv(seconds, secondsPerDay)
        let c = civil(days: dayStart)
        let t = seconds - dayStart * secondsPerDay
        return pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2) + "T"
            + pad(t / 3600, 2) + ":" + pad(t % 3600 / 60, 2) + ":" + pad(t % 60, 2) + "Z"
    }

    /// Day of week of a day number, 0 = Sunday (1970-01-01 was a Thursday).
    static func weekday(days: Int) -> Int { ((days + 4) % 7 + 7) % 7 }

    /// Day number of the `n`th Sunday (1-based) of a month, or of the last one when `n` is 0.
    static func sunday(_ n: Int, year: Int, month: Int) -> Int {
        if n == 0 {
            let nextMonth = month == 12 ? days(year: year + 1, month: 1, day: 1) : days(year: year, month: month + 1, day: 1)
            let last = nextMonth - 1
            return last - weekday(days: last)
        }
        let first = days(year: year, month: month, day: 1)
        return first + (7 - weekday(days: first)) % 7 + 7 * (n - 1)
    }

    /// UTC offset in minutes of US Eastern time at a moment: -300, or -240 while daylight saving time
    /// is in effect (second Sunday of March to first Sunday of November since 2007; first Sunday of
    /// April to last Sunday of October 1987–2006). Changes happen at 02:00 local time.
    static func easternOffsetMinutes(at seconds: Int) -> Int {
        let year = civil(seconds: seconds).year
        let startDay: Int
        let endDay: Int
        if year >= 2007 {
            startDay = sunday(2, year: year, month: 3)
            endDay = sunday(1, year: year, month: 11)
        } else {
            startDay = sunday(1, year: year, month: 4)
            endDay = sunday(0, year: year, month: 10)
        }
        let start = startDay * secondsPerDay + 7 * 3600  // 02:00 EST
        let end = endDay * secondsPerDay + 6 * 3600  // 02:00 EDT
        return seconds >= start && seconds < end ? -240 : -300
    }

    /// The UTC moment of a local Eastern wall-clock time on a given day number.
    static func easternMoment(days day: Int, hour: Int, minute: Int, second: Int = 0) -> Int {
        let wall = day * secondsPerDay + hour * 3600 + minute * 60 + second
        // Try standard time first, then daylight time; the offset must agree with the result.
        let asStandard = wall + 300 * 60
        if easternOffsetMinutes(at: asStandard) == -300 { return asStandard }
        return wall + 240 * 60
    }

    /// Start of 1987, from which `easternOffsetMinutes` follows the US daylight-saving rules exactly.
    static let easternRulesStart = epochSeconds(year: 1987, month: 1, day: 1, hour: 5)

    /// FHIR `dateTime` in US Eastern local time with its offset. Moments before 1987 (historical onsets),
    /// where earlier daylight-saving rules applied, are written in UTC with a `+00:00` offset instead.
    static func easternDateTime(_ seconds: Int) -> String {
        if seconds < easternRulesStart { return dateTime(seconds, offsetMinutes: 0) }
        return dateTime(seconds, offsetMinutes: easternOffsetMinutes(at: seconds))
    }
}
