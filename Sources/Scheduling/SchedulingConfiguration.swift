import Foundation
import Kernel

/// Scheduling's part of the configuration, read and checked here.
package struct SchedulingConfiguration: Sendable {
    /// The kinds of appointment offered (`appointmentType` codes of HL7 v2 table 0276).
    package var kinds: [AppointmentKind] = Self.defaultKinds
    /// Bookings wait (`pending`) until a staff member accepts them.
    package var requireApproval = false
    /// How long a `$hold` keeps a time.
    package var holdMinutes = 5
    /// The longest range one `$find` looks at.
    package var maxFindDays = 31
    /// How far ahead times are offered when a Schedule gives no `planningHorizon`.
    package var defaultHorizonDays = 90
    /// Reminders before a booked appointment, in minutes (48 h and 2 h by default).
    package var reminderMinutes = [2880, 120]
    /// The practice's time zone, in which the pages show times (`HEALTHHUB_TIMEZONE`, an IANA
    /// name; the machine's own zone when unset).
    package var timeZone = TimeZone.current

    package init() {}

    package static let defaultKinds = [
        AppointmentKind(code: "ROUTINE", display: "Routine appointment", minutes: 30, bufferAfter: 5),
        AppointmentKind(code: "FOLLOWUP", display: "Follow-up visit", minutes: 20, bufferAfter: 5),
        AppointmentKind(code: "CHECKUP", display: "Check-up", minutes: 45, bufferAfter: 10, limit: (1, 365)),
    ]
    static let displays = [
        "ROUTINE": "Routine appointment", "FOLLOWUP": "Follow-up visit", "CHECKUP": "Check-up", "WALKIN": "Walk-in visit", "EMERGENCY": "Emergency appointment",
    ]

    package func kind(_ code: String?) -> AppointmentKind? {
        guard let code else { return kinds.first }
        return kinds.first { $0.code == code }
    }

    /// Reads `HEALTHHUB_APPOINTMENT_TYPES` (comma-separated `CODE:minutes[:before[:after[:count/days]]]`,
    /// e.g. `ROUTINE:30:0:5,CHECKUP:45:0:10:1/365`), `HEALTHHUB_BOOKING_APPROVAL` (on/off),
    /// `HEALTHHUB_HOLD_MINUTES` (1–60), `HEALTHHUB_PLANNING_DAYS` (the horizon when a Schedule
    /// has none, 1–730), `HEALTHHUB_REMINDERS` (e.g. `48h,2h`, or `off`) and `HEALTHHUB_TIMEZONE`.
    /// Returns the problems found.
    package mutating func read(_ settings: Settings) -> [String] {
        var problems: [String] = []
        if let text = settings.value(nil, "APPOINTMENT_TYPES") {
            var parsed: [AppointmentKind] = []
            for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if let kind = Self.parseKind(item), !parsed.contains(kind) {
                    parsed.append(kind)
                } else {
                    problems.append("HEALTHHUB_APPOINTMENT_TYPES: '\(item.prefix(40))' is not CODE:minutes[:before[:after[:count/days]]] (or repeats a code)")
                }
            }
            if parsed.isEmpty && problems.isEmpty { problems.append("HEALTHHUB_APPOINTMENT_TYPES names no appointment type") }
            kinds = parsed
        }
        if let text = settings.value(nil, "BOOKING_APPROVAL") {
            switch text.lowercased() {
            case "on", "true", "1": requireApproval = true
            case "off", "false", "0": requireApproval = false
            default: problems.append("HEALTHHUB_BOOKING_APPROVAL must be on or off")
            }
        }
        if let text = settings.value(nil, "HOLD_MINUTES") {
            if let n = Int(text), (1...60).contains(n) { holdMinutes = n } else { problems.append("HEALTHHUB_HOLD_MINUTES must be 1-60") }
        }
        if let text = settings.value(nil, "REMINDERS") {
            let parsed = text.split(separator: ",").map { Self.minutes(String($0).trimmingCharacters(in: .whitespaces)) }
            if text.lowercased() == "off" {
                reminderMinutes = []
            } else if !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }), Set(parsed).count == parsed.count {
                reminderMinutes = parsed.compactMap { $0 }.sorted(by: >)
            } else {
                problems.append("HEALTHHUB_REMINDERS must be offsets before the appointment such as 48h,2h or 30m (or off)")
            }
        }
        if let text = settings.value(nil, "TIMEZONE") {
            if let zone = TimeZone(identifier: text) { timeZone = zone } else { problems.append("HEALTHHUB_TIMEZONE must be an IANA time zone name such as Europe/Madrid") }
        }
        if let text = settings.value(nil, "PLANNING_DAYS") {
            if let n = Int(text), (1...730).contains(n) { defaultHorizonDays = n } else { problems.append("HEALTHHUB_PLANNING_DAYS must be 1-730") }
        }
        return problems
    }

    /// `48h`, `90m` or `2d` in minutes (at most 30 days).
    static func minutes(_ text: String) -> Int? {
        guard let unit = text.last, let n = Int(text.dropLast()), n > 0 else { return nil }
        let m: Int
        switch unit {
        case "m": m = n
        case "h": m = n * 60
        case "d": m = n * 1440
        default: return nil
        }
        return m <= 30 * 1440 ? m : nil
    }

    static func parseKind(_ text: String) -> AppointmentKind? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (2...5).contains(parts.count), let code = parts.first, !code.isEmpty, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
            let minutes = Int(parts[1]), (5...480).contains(minutes)
        else { return nil }
        let before = parts.count > 2 ? Int(parts[2]) : 0
        let after = parts.count > 3 ? Int(parts[3]) : 0
        guard let before, let after, (0...120).contains(before), (0...120).contains(after) else { return nil }
        var limit: (Int, Int)?
        if parts.count > 4 {
            let l = parts[4].split(separator: "/").compactMap { Int($0) }
            guard l.count == 2, (1...100).contains(l[0]), (1...730).contains(l[1]) else { return nil }
            limit = (l[0], l[1])
        }
        return AppointmentKind(code: code, display: displays[code] ?? code, minutes: minutes, bufferBefore: before, bufferAfter: after, limit: limit)
    }
}
