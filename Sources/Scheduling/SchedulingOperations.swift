import FHIR
import Foundation
import HTTPTypes
import Kernel

/// The scheduling operations on `Appointment`: `$find`, `$hold` and `$book` after the IHE ITI
/// Scheduling profile's Find Potential Appointments, Hold and Book transactions (R4 core has no
/// scheduling operations), and HealthHub's own `$cancel` and `$reschedule`. Every write goes
/// through `FHIRService` with the caller's access (a patient books only for themselves, staff
/// only for patients in their care) and meets the booking rule like any other write.
package enum SchedulingOperations {
    package static func all(_ scheduler: Scheduler) -> [any FHIROperation] {
        [
            FindOperation(scheduler: scheduler), HoldOperation(scheduler: scheduler), BookOperation(scheduler: scheduler),
            CancelOperation(), RescheduleOperation(scheduler: scheduler),
        ]
    }

    static let activeStatuses = BookingRule.activeStatuses

    /// An OperationDefinition with HealthHub's canonical URL.
    static func definition(
        id: String, code: String, title: String, description: String, instance: Bool, affectsState: Bool,
        parameters: [(name: String, use: String, min: Int, max: String, type: String, documentation: String)]
    ) -> JSON {
        var o: JSONObject = [:]
        o["resourceType"] = "OperationDefinition"
        o["id"] = .string(id)
        o["url"] = .string("\(SchedulingVocabulary.base)/OperationDefinition/\(id)")
        o["name"] = .string(title.replacingOccurrences(of: " ", with: ""))
        o["title"] = .string(title)
        o["status"] = "active"
        o["kind"] = "operation"
        o["publisher"] = "HealthHub"
        o["description"] = .string(description)
        o["affectsState"] = .bool(affectsState)
        o["code"] = .string(code)
        o["resource"] = ["Appointment"]
        o["system"] = false
        o["type"] = .bool(!instance)
        o["instance"] = .bool(instance)
        o["parameter"] = .array(
            parameters.map { p in
                .object([
                    "name": .string(p.name), "use": .string(p.use), "min": .int(p.min), "max": .string(p.max), "type": .string(p.type),
                    "documentation": .string(p.documentation),
                ])
            })
        return .object(o)
    }

    // MARK: Reading the input

    static func instant(_ input: OperationInput, _ name: String) throws(FHIRError) -> Int64? {
        guard let text = try input.string(name) else { return nil }
        let zoned = text.hasSuffix("Z") || text.dropFirst(11).contains("+") || text.dropFirst(11).contains("-")
        guard text.contains("T"), zoned, let range = DateRange(text) else {
            throw FHIRError(.badRequest, code: "value", "'\(name)' must be a dateTime with a time and a zone, such as 2027-03-01T09:00:00Z", expression: [name])
        }
        return range.low
    }

    static func required<T>(_ value: T?, _ name: String) throws(FHIRError) -> T {
        guard let value else { throw FHIRError(.badRequest, code: "required", "The operation needs '\(name)'", expression: [name]) }
        return value
    }

    static func kind(_ code: String?, _ scheduler: Scheduler, path: String) throws(FHIRError) -> AppointmentKind {
        guard let kind = scheduler.configuration.kind(code) else {
            let known = scheduler.configuration.kinds.map(\.code).joined(separator: ", ")
            throw FHIRError(.badRequest, code: "value", "Unknown appointment type '\((code ?? "").prefix(40))' (offered: \(known))", expression: [path])
        }
        return kind
    }

    /// The practitioner (id) and patient (reference) an Appointment names.
    /// (References are read as the booking rule reads them, however they are spelled.)
    static func people(_ appointment: JSONObject) -> (practitioner: String?, patient: String?) {
        let actors = (appointment["participant"]?.arrayValue ?? []).compactMap { $0["actor"] }
        return (
            actors.lazy.compactMap { BookingRule.Claim.id(of: $0, type: "Practitioner") }.first,
            actors.lazy.compactMap { BookingRule.Claim.id(of: $0, type: "Patient") }.first.map { "Patient/\($0)" }
        )
    }

    static func text(_ millis: Int64, zone: TimeZone) -> String { Instant.format(millis: millis, in: zone) }

    /// An Appointment the caller asked to hold or book, checked: an appointment type that is
    /// offered, a practitioner and a patient taking part, a time in the future that is one of
    /// the free times, and the patient's booking limit for the type.
    static func checkedRequest(
        _ appointment: JSONObject, scheduler: Scheduler, excluding: String? = nil, access: RequestAccess, service: FHIRService, path: String
    ) async throws -> JSONObject {
        let code = appointment["appointmentType"]?["coding"]?.arrayValue?.first?["code"]?.stringValue
        let kind = try Self.kind(code, scheduler, path: "\(path).appointmentType")
        let (practitioner, patient) = people(appointment)
        guard let practitioner else {
            throw FHIRError(.unprocessableContent, code: "required", "The appointment needs a Practitioner participant", expression: ["\(path).participant"])
        }
        guard let patient else {
            throw FHIRError(.unprocessableContent, code: "required", "The appointment needs a Patient participant", expression: ["\(path).participant"])
        }
        guard let start = appointment["start"]?.stringValue.flatMap(DateRange.init)?.low else {
            throw FHIRError(.unprocessableContent, code: "required", "The appointment needs a start", expression: ["\(path).start"])
        }
        let end = start + Int64(kind.minutes) * 60_000
        guard start > Instant.millis(Now.date) else {
            throw FHIRError(.unprocessableContent, code: "business-rule", "The appointment must start in the future", expression: ["\(path).start"])
        }
        guard try await scheduler.isOffered(kind: kind, practitioner: practitioner, start: start, end: end, excluding: excluding, access: access, service: service) else {
            throw FHIRError(.conflict, code: "conflict", "That time is not free for this practitioner and appointment type; find another with $find", expression: ["\(path).start"])
        }
        if let limit = kind.limit {
            let day: Int64 = 86_400_000
            let query =
                "actor=\(patient)&appointment-type=\(kind.code)&status=\(activeStatuses.sorted().joined(separator: ","))"
                + "&date=ge\(text(start - Int64(limit.days) * day, zone: .gmt))&date=le\(text(start + Int64(limit.days) * day, zone: .gmt))&_count=100"
            let existing = try await service.search(try service.searchRequest(type: "Appointment", query: query), access: access).matches.filter { $0.id != excluding }
            if existing.count >= limit.count {
                throw FHIRError(
                    .unprocessableContent, code: "business-rule",
                    "The patient already has \(existing.count) \(kind.display) appointment(s) within \(limit.days) days (at most \(limit.count))",
                    expression: ["\(path).appointmentType"])
            }
        }
        var out = appointment
        out["resourceType"] = "Appointment"
        out["start"] = .string(text(start, zone: .gmt))
        out["end"] = .string(text(end, zone: .gmt))
        out["minutesDuration"] = .int(kind.minutes)
        out["appointmentType"] = ["coding": [["system": .string(SchedulingVocabulary.appointmentTypeSystem), "code": .string(kind.code), "display": .string(kind.display)]]]
        out["extension"] = .array((appointment["extension"]?.arrayValue ?? []).filter { $0["url"]?.stringValue != SchedulingVocabulary.holdExpiresURL })
        if out["extension"]?.arrayValue?.isEmpty == true { out["extension"] = nil }
        return out
    }

    static func withoutHold(_ appointment: JSONObject) -> JSONObject {
        var out = appointment
        let kept = (appointment["extension"]?.arrayValue ?? []).filter { $0["url"]?.stringValue != SchedulingVocabulary.holdExpiresURL }
        out["extension"] = kept.isEmpty ? nil : .array(kept)
        return out
    }

    static func stored(_ v: ResourceVersion) throws -> JSONObject {
        guard let content = v.content, let o = try JSON.parse(content).objectValue else { throw FHIRError.gone(v.type, v.id) }
        return o
    }
}

/// `Appointment/$find`: free times as proposed Appointments (a searchset Bundle).
struct FindOperation: FHIROperation {
    let scheduler: Scheduler
    var definition: JSON {
        SchedulingOperations.definition(
            id: "Appointment-find", code: "find", title: "Find Potential Appointments",
            description:
                "Free times as proposed Appointments, after the IHE ITI Scheduling Find Potential Appointments transaction: from the weekly availability of the Schedules the caller may read, within their planning horizon, minus booked and held time and the appointment type's buffers.",
            instance: false, affectsState: false,
            parameters: [
                ("start", "in", 1, "1", "dateTime", "Earliest start (with a time zone)."),
                ("end", "in", 1, "1", "dateTime", "Latest end; at most 31 days after start."),
                ("practitioner", "in", 0, "*", "Reference", "Practitioner/id whose times to offer; all when absent."),
                ("visit-type", "in", 0, "1", "code", "The appointment type (HL7 v2 table 0276 code); the first configured when absent."),
                ("service-type", "in", 0, "1", "code", "Only Schedules offering this serviceType code."),
                ("timezone", "in", 0, "1", "code", "IANA time zone the times are written in (UTC when absent)."),
                ("_count", "in", 0, "1", "integer", "At most this many times (default 100, at most 1000)."),
                ("return", "out", 1, "1", "Bundle", "A searchset of proposed Appointments."),
            ])
    }

    static let parameters: Set<String> = ["start", "end", "practitioner", "visit-type", "service-type", "timezone", "_count"]

    func invoke(_ call: OperationCall, record: inout AuditRecord) async throws -> OperationResult {
        let input = call.input
        if let unknown = input.values.first(where: { !Self.parameters.contains($0.name) }) {
            throw FHIRError(.badRequest, code: "not-supported", "$find has no parameter '\(unknown.name.prefix(40))'", expression: [String(unknown.name.prefix(40))])
        }
        let from = try SchedulingOperations.required(try SchedulingOperations.instant(input, "start"), "start")
        let to = try SchedulingOperations.required(try SchedulingOperations.instant(input, "end"), "end")
        guard from < to, to - from <= Int64(scheduler.configuration.maxFindDays) * 86_400_000 else {
            throw FHIRError(.badRequest, code: "value", "'end' must come after 'start', at most \(scheduler.configuration.maxFindDays) days later", expression: ["end"])
        }
        let kind = try SchedulingOperations.kind(try input.string("visit-type"), scheduler, path: "visit-type")
        let practitioners = input.strings("practitioner").map { $0.hasPrefix("Practitioner/") ? String($0.dropFirst("Practitioner/".count)) : $0 }
        guard practitioners.allSatisfy(ResourceID.isValid) else {
            throw FHIRError(.badRequest, code: "value", "'practitioner' must be Practitioner/id", expression: ["practitioner"])
        }
        var zone = TimeZone.gmt
        if let name = try input.string("timezone") {
            guard let z = TimeZone(identifier: name) else { throw FHIRError(.badRequest, code: "value", "'timezone' must be an IANA time zone name", expression: ["timezone"]) }
            zone = z
        }
        let count =
            try input.string("_count").map { text throws(FHIRError) in
                guard let n = Int(text), (1...1000).contains(n) else { throw FHIRError(.badRequest, code: "value", "'_count' must be 1-1000", expression: ["_count"]) }
                return n
            } ?? 100
        let found = try await scheduler.find(
            kind: kind, from: from, to: to, practitioners: practitioners.isEmpty ? nil : practitioners, serviceType: try input.string("service-type"),
            access: call.access, service: call.service)
        let entries: [JSON] = found.prefix(count).map { p in
            let appointment: JSONObject = [
                "resourceType": "Appointment", "status": "proposed",
                "appointmentType": ["coding": [["system": .string(SchedulingVocabulary.appointmentTypeSystem), "code": .string(kind.code), "display": .string(kind.display)]]],
                "start": .string(SchedulingOperations.text(p.start, zone: zone)), "end": .string(SchedulingOperations.text(p.end, zone: zone)),
                "minutesDuration": .int(kind.minutes),
                "participant": [["actor": ["reference": .string("Practitioner/\(p.practitioner)")], "required": "required", "status": "needs-action"]],
                "supportingInformation": [["reference": .string("Schedule/\(p.schedule)")]],
            ]
            return ["fullUrl": .string("urn:uuid:\(UUID().uuidString.lowercased())"), "resource": .object(appointment), "search": ["mode": "match"]]
        }
        let bundle: JSONObject = ["resourceType": "Bundle", "type": "searchset", "total": .int(found.count), "entry": .array(entries)]
        return OperationResult(body: .object(bundle))
    }
}

/// `Appointment/$hold`: keeps a free time for a few minutes (a `pending` Appointment carrying
/// HealthHub's `hold-expires` extension), so nobody else can take it while the patient
/// confirms. It runs out by itself: an expired hold holds nothing, and is cancelled.
struct HoldOperation: FHIROperation {
    let scheduler: Scheduler
    var definition: JSON {
        SchedulingOperations.definition(
            id: "Appointment-hold", code: "hold", title: "Hold Appointment",
            description:
                "Holds a free time (one of $find's proposals) for HEALTHHUB_HOLD_MINUTES (default 5), after the IHE ITI Scheduling Hold Appointment transaction. Returns the held Appointment (status pending, with the hold-expires extension); book it with $book's appointment-reference.",
            instance: false, affectsState: true,
            parameters: [
                ("appointment-resource", "in", 1, "1", "Appointment", "The proposed Appointment to hold (appointmentType, start, a Practitioner and a Patient participant)."),
                ("return", "out", 1, "1", "Appointment", "The held Appointment."),
            ])
    }

    func invoke(_ call: OperationCall, record: inout AuditRecord) async throws -> OperationResult {
        let requested = try SchedulingOperations.required(call.input.resource("appointment-resource"), "appointment-resource")
        var appointment = try await SchedulingOperations.checkedRequest(
            requested, scheduler: scheduler, access: call.access, service: call.service, path: "appointment-resource")
        appointment["id"] = nil
        appointment["status"] = "pending"
        let expires = Instant.millis(Now.date) + Int64(scheduler.configuration.holdMinutes) * 60_000
        var extensions = appointment["extension"]?.arrayValue ?? []
        extensions.append(["url": .string(SchedulingVocabulary.holdExpiresURL), "valueInstant": .string(SchedulingOperations.text(expires, zone: .gmt))])
        appointment["extension"] = .array(extensions)
        let resource = try call.service.checkResource(.object(appointment), type: "Appointment", location: "appointment-resource")
        let (v, _) = try await call.service.create(resource, type: "Appointment", ifNoneExist: nil, access: call.access, audit: record)
        return OperationResult(status: .created, body: try JSON.parse(v.content ?? Data()), committedAudit: true)
    }
}

/// `Appointment/$book`: books a held Appointment (`appointment-reference`) or a free time
/// (`appointment-resource`). The result is `booked`, or `pending` until staff accept it when
/// the clinic requires approval (`HEALTHHUB_BOOKING_APPROVAL=on`).
struct BookOperation: FHIROperation {
    let scheduler: Scheduler
    var definition: JSON {
        SchedulingOperations.definition(
            id: "Appointment-book", code: "book", title: "Book Appointment",
            description:
                "Books an appointment, after the IHE ITI Scheduling Book Appointment transaction: a held one by reference, or a free time given as a resource. The result is booked, or pending until staff accept it when the clinic requires approval.",
            instance: false, affectsState: true,
            parameters: [
                ("appointment-reference", "in", 0, "1", "Reference", "Appointment/id of a hold made with $hold (before it runs out)."),
                ("appointment-resource", "in", 0, "1", "Appointment", "Or: the Appointment to book (appointmentType, start, a Practitioner and a Patient participant)."),
                ("return", "out", 1, "1", "Appointment", "The booked Appointment."),
            ])
    }

    func invoke(_ call: OperationCall, record: inout AuditRecord) async throws -> OperationResult {
        let status = scheduler.configuration.requireApproval ? "pending" : "booked"
        if let reference = try call.input.string("appointment-reference") {
            let id = reference.hasPrefix("Appointment/") ? String(reference.dropFirst("Appointment/".count)) : reference
            guard ResourceID.isValid(id) else {
                throw FHIRError(.badRequest, code: "value", "'appointment-reference' must be Appointment/id", expression: ["appointment-reference"])
            }
            let current = try await call.service.read("Appointment", id, access: call.access)
            var appointment = try SchedulingOperations.stored(current)
            guard let expires = SchedulingVocabulary.holdExpiry(of: appointment), appointment["status"]?.stringValue == "pending" else {
                throw FHIRError(.conflict, code: "conflict", "Appointment/\(id) is not a hold; book a free time with appointment-resource", expression: ["appointment-reference"])
            }
            guard expires > Instant.millis(Now.date) else {
                throw FHIRError(.conflict, code: "conflict", "The hold has expired; find and hold a time again", expression: ["appointment-reference"])
            }
            appointment = SchedulingOperations.withoutHold(appointment)
            appointment["status"] = .string(status)
            record.resources = ["Appointment/\(id)"]
            let (v, _) = try await call.service.update(appointment, type: "Appointment", id: id, ifMatch: current.version, access: call.access, audit: record)
            return OperationResult(body: try JSON.parse(v.content ?? Data()), committedAudit: true)
        }
        let requested = try SchedulingOperations.required(call.input.resource("appointment-resource"), "appointment-reference or appointment-resource")
        var appointment = try await SchedulingOperations.checkedRequest(
            requested, scheduler: scheduler, access: call.access, service: call.service, path: "appointment-resource")
        appointment["id"] = nil
        appointment["status"] = .string(status)
        let resource = try call.service.checkResource(.object(appointment), type: "Appointment", location: "appointment-resource")
        let (v, _) = try await call.service.create(resource, type: "Appointment", ifNoneExist: nil, access: call.access, audit: record)
        return OperationResult(status: .created, body: try JSON.parse(v.content ?? Data()), committedAudit: true)
    }
}

/// `Appointment/{id}/$cancel`: cancels with a reason; the time is free again.
struct CancelOperation: FHIROperation {
    var definition: JSON {
        SchedulingOperations.definition(
            id: "Appointment-cancel", code: "cancel", title: "Cancel Appointment",
            description:
                "HealthHub's own: cancels a proposed, pending or booked Appointment (status cancelled, cancelationReason from the reason); its Slot and time are free again.",
            instance: true, affectsState: true,
            parameters: [
                ("reason", "in", 0, "1", "string", "Why (kept in cancelationReason.text)."),
                ("return", "out", 1, "1", "Appointment", "The cancelled Appointment."),
            ])
    }

    func invoke(_ call: OperationCall, record: inout AuditRecord) async throws -> OperationResult {
        let id = call.id ?? ""
        let current = try await call.service.read("Appointment", id, access: call.access)
        var appointment = SchedulingOperations.withoutHold(try SchedulingOperations.stored(current))
        guard ["proposed", "pending", "booked", "waitlist"].contains(appointment["status"]?.stringValue ?? "") else {
            throw FHIRError(.conflict, code: "business-rule", "Only a proposed, pending or booked appointment can be cancelled", expression: ["Appointment.status"])
        }
        appointment["status"] = "cancelled"
        if let reason = try call.input.string("reason"), !reason.isEmpty { appointment["cancelationReason"] = ["text": .string(String(reason.prefix(500)))] }
        let (v, _) = try await call.service.update(appointment, type: "Appointment", id: id, ifMatch: current.version, access: call.access, audit: record)
        return OperationResult(body: try JSON.parse(v.content ?? Data()), committedAudit: true)
    }
}

/// `Appointment/{id}/$reschedule`: moves a booking to another free time of the same
/// practitioner and type, in one change (the old time is free only once the new one is taken).
struct RescheduleOperation: FHIROperation {
    let scheduler: Scheduler
    var definition: JSON {
        SchedulingOperations.definition(
            id: "Appointment-reschedule", code: "reschedule", title: "Reschedule Appointment",
            description:
                "HealthHub's own: moves a pending or booked Appointment to another free time of the same practitioner and appointment type, as one new version of the same Appointment. With approval required, a move by the patient waits (pending) for staff again.",
            instance: true, affectsState: true,
            parameters: [
                ("start", "in", 1, "1", "dateTime", "The new start (one of $find's times)."),
                ("return", "out", 1, "1", "Appointment", "The moved Appointment."),
            ])
    }

    func invoke(_ call: OperationCall, record: inout AuditRecord) async throws -> OperationResult {
        let id = call.id ?? ""
        let start = try SchedulingOperations.required(try SchedulingOperations.instant(call.input, "start"), "start")
        let current = try await call.service.read("Appointment", id, access: call.access)
        var appointment = SchedulingOperations.withoutHold(try SchedulingOperations.stored(current))
        guard ["pending", "booked"].contains(appointment["status"]?.stringValue ?? "") else {
            throw FHIRError(.conflict, code: "business-rule", "Only a pending or booked appointment can be moved", expression: ["Appointment.status"])
        }
        // a hold is booked or let run out, not moved (a moved hold would never expire)
        if SchedulingVocabulary.holdExpiry(of: try SchedulingOperations.stored(current)) != nil {
            throw FHIRError(.conflict, code: "business-rule", "A hold cannot be moved; hold the other time instead", expression: ["Appointment.extension"])
        }
        appointment["start"] = .string(SchedulingOperations.text(start, zone: .gmt))
        appointment["slot"] = nil
        var moved = try await SchedulingOperations.checkedRequest(
            appointment, scheduler: scheduler, excluding: id, access: call.access, service: call.service, path: "Appointment")
        if scheduler.configuration.requireApproval && call.access.actsForPatient { moved["status"] = "pending" }
        let (v, _) = try await call.service.update(moved, type: "Appointment", id: id, ifMatch: current.version, access: call.access, audit: record)
        return OperationResult(body: try JSON.parse(v.content ?? Data()), committedAudit: true)
    }
}
