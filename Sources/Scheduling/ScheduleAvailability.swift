import FHIR
import Foundation
import HTTPTypes
import Kernel
import Storage

/// A Schedule's availability, read from HealthHub's `availability` extension:
///
/// ```json
/// {"url": "https://healthhub.dev/fhir/StructureDefinition/availability", "extension": [
///   {"url": "timeZone", "valueCode": "America/New_York"},
///   {"url": "availableTime", "extension": [
///     {"url": "daysOfWeek", "valueCode": "mon"}, {"url": "daysOfWeek", "valueCode": "tue"},
///     {"url": "availableStartTime", "valueTime": "09:00:00"}, {"url": "availableEndTime", "valueTime": "12:00:00"}]},
///   {"url": "notAvailable", "extension": [
///     {"url": "description", "valueString": "Public holiday"},
///     {"url": "during", "valuePeriod": {"start": "2027-12-25", "end": "2027-12-26"}}]}]}
/// ```
///
/// (`availableTime` and `notAvailable` follow `PractitionerRole.availableTime` and
/// `notAvailable`.) A period given as dates is whole local days in the Schedule's zone, its end
/// day included.
package struct ScheduleAvailability: Sendable {
    package let scheduleID: String
    package let practitioner: String
    package let rules: AvailabilityRules
    /// `planningHorizon`, as instants (either end open when not given).
    package let horizon: (start: Int64?, end: Int64?)
    /// `serviceType` codes (any system).
    package let serviceTypes: Set<String>

    static let days = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]

    /// The availability of a stored Schedule; nil when it has no availability extension or no
    /// Practitioner actor. Throws a 422 naming the element for one that is malformed.
    package static func parse(_ schedule: JSONObject, id: String) throws(FHIRError) -> ScheduleAvailability? {
        let extensions = schedule["extension"]?.arrayValue ?? []
        guard let index = extensions.firstIndex(where: { $0["url"]?.stringValue == SchedulingVocabulary.availabilityURL }) else { return nil }
        let path = "Schedule.extension[\(index)]"
        func problem(_ text: String, _ at: String) -> FHIRError { FHIRError(.unprocessableContent, code: "value", text, expression: ["\(path).\(at)"]) }
        let parts = extensions[index]["extension"]?.arrayValue ?? []
        guard let zoneIndex = parts.firstIndex(where: { $0["url"]?.stringValue == "timeZone" }) else {
            throw problem("The availability needs a timeZone (an IANA name such as Europe/London)", "extension")
        }
        guard let zoneName = parts[zoneIndex]["valueCode"]?.stringValue, let zone = TimeZone(identifier: zoneName) else {
            throw problem("The timeZone must be an IANA time zone name", "extension[\(zoneIndex)].valueCode")
        }
        var weekly: [AvailabilityRules.Weekly] = []
        var closureTexts: [(Int, String?, String?)] = []
        for (n, part) in parts.enumerated() {
            let inner = part["extension"]?.arrayValue ?? []
            func values(_ url: String, _ key: String) -> [String] { inner.filter { $0["url"]?.stringValue == url }.compactMap { $0[key]?.stringValue } }
            switch part["url"]?.stringValue {
            case "availableTime":
                let names = values("daysOfWeek", "valueCode")
                let days = Set(names.compactMap { Self.days[$0] })
                guard !names.isEmpty, days.count == Set(names).count else { throw problem("daysOfWeek must be mon, tue, wed, thu, fri, sat or sun", "extension[\(n)]") }
                guard let start = values("availableStartTime", "valueTime").first.flatMap(LocalTime.init),
                    let end = values("availableEndTime", "valueTime").first.flatMap(LocalTime.init), start < end
                else { throw problem("availableStartTime and availableEndTime must be times of day, the start first", "extension[\(n)]") }
                weekly.append(.init(days: days, start: start, end: end))
            case "notAvailable":
                let during = inner.first { $0["url"]?.stringValue == "during" }?["valuePeriod"]
                closureTexts.append((n, during?["start"]?.stringValue, during?["end"]?.stringValue))
            case "timeZone": continue
            default: throw problem("Unknown part of the availability (timeZone, availableTime and notAvailable are known)", "extension[\(n)].url")
            }
        }
        let base = AvailabilityRules(timeZone: zone, weekly: weekly)
        var closures: [AvailabilityRules.Closure] = []
        for (n, start, end) in closureTexts {
            guard let s = start.flatMap({ Self.instant($0, in: base, endOfDay: false) }), let e = end.flatMap({ Self.instant($0, in: base, endOfDay: true) }), s < e else {
                throw problem("notAvailable needs a during period with a start before its end", "extension[\(n)]")
            }
            closures.append(.init(start: s, end: e))
        }
        guard let actor = (schedule["actor"]?.arrayValue ?? []).compactMap({ $0["reference"]?.stringValue }).first(where: { $0.hasPrefix("Practitioner/") }) else {
            return nil
        }
        let horizon = schedule["planningHorizon"]
        return ScheduleAvailability(
            scheduleID: id, practitioner: String(actor.dropFirst("Practitioner/".count)),
            rules: AvailabilityRules(timeZone: zone, weekly: weekly, closures: closures),
            horizon: (horizon?["start"]?.stringValue.flatMap { DateRange($0)?.low }, horizon?["end"]?.stringValue.flatMap { DateRange($0)?.high }),
            serviceTypes: Set(
                (schedule["serviceType"]?.arrayValue ?? []).flatMap { ($0["coding"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue } }))
    }

    /// A Period bound: an instant as given, or a date as the start (or, for an end, the end) of
    /// that local day.
    static func instant(_ text: String, in rules: AvailabilityRules, endOfDay: Bool) -> Int64? {
        guard !text.contains("T") else { return DateRange(text).map { endOfDay ? $0.high + 1 : $0.low } }
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, let day = rules.closedDay(year: parts[0], month: parts[1], day: parts[2]) else { return nil }
        return endOfDay ? day.end : day.start
    }
}

/// A Schedule whose availability is malformed is refused when written (422 naming the part),
/// so `$find` never meets one it cannot read.
package struct ScheduleRule: ResourceWriteRule {
    package init() {}
    package var types: Set<String> { ["Schedule"] }

    package func apply(_ change: ResourceChange, store: ResourceStore, in tx: DatabaseTransaction) async throws {
        guard let resource = change.resource else { return }
        _ = try ScheduleAvailability.parse(resource, id: change.id)
    }
}
