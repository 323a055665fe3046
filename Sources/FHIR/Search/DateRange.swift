import Foundation
import HTTPTypes
import Kernel

/// The span of time a FHIR date, dateTime or instant covers at its precision, in milliseconds
/// since 1970 UTC, both ends inclusive: `2020` covers the whole year, `2020-03-04T10:00` the minute.
/// Values without a time zone are read as UTC.
package struct DateRange: Sendable, Equatable {
    package var low: Int64
    package var high: Int64

    package static let unboundedLow = Int64.min / 2
    package static let unboundedHigh = Int64.max / 2

    package init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }

    /// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]`.
    package init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        func num(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var v = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += count
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = num(4) else { return nil }
        if i == b.count {
            self.init(low: Self.millis(year, 1, 1), high: Self.millis(year + 1, 1, 1) - 1)
            return
        }
        guard expect(0x2D), let month = num(2), (1...12).contains(month) else { return nil }
        if i == b.count {
            let next = month == 12 ? (year + 1, 1) : (year, month + 1)
            self.init(low: Self.millis(year, month, 1), high: Self.millis(next.0, next.1, 1) - 1)
            return
        }
        guard expect(0x2D), let day = num(2), day >= 1, day <= CivilCalendar.daysIn(year: year, month: month) else { return nil }
        let dayStart = Self.millis(year, month, day)
        if i == b.count {
            self.init(low: dayStart, high: dayStart + 86_400_000 - 1)
            return
        }
        guard expect(0x54), let hour = num(2), hour < 24, expect(0x3A), let minute = num(2), minute < 60 else { return nil }
        var second = 0
        var fraction: Int64 = 0
        var span: Int64 = 60_000
        if i < b.count, b[i] == 0x3A {
            i += 1
            guard let s = num(2), s < 61 else { return nil }
            second = min(s, 59)
            span = 1000
            if i < b.count, b[i] == 0x2E {
                i += 1
                var digits = 0
                var value: Int64 = 0
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                    if digits < 3 { value = value * 10 + Int64(b[i] - 0x30) }
                    digits += 1
                    i += 1
                }
                guard digits > 0 else { return nil }
                for _ in min(digits, 3)..<3 { value *= 10 }
                fraction = value
                span = 1
            }
        }
        var offset: Int64 = 0
        if i < b.count {
            if b[i] == 0x5A {
                i += 1
            } else if b[i] == 0x2B || b[i] == 0x2D {
                let sign: Int64 = b[i] == 0x2D ? -1 : 1
                i += 1
                guard let oh = num(2), oh <= 14, expect(0x3A), let om = num(2), om < 60 else { return nil }
                offset = sign * Int64(oh * 60 + om) * 60_000
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        let start = dayStart + Int64(hour * 3600 + minute * 60 + second) * 1000 + fraction - offset
        self.init(low: start, high: start + span - 1)
    }

    static func millis(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        Int64(CivilCalendar.days(year: year, month: month, day: day)) * 86_400_000
    }
}
