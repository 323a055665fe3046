import FHIR
import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Storage

/// Where availability comes from: the Schedules the caller may read (their weekly rules,
/// closures and horizon) minus the practitioners' busy time (`hh_busy_time`, which holds ids
/// and instants only).
package struct Scheduler: Sendable {
    package let configuration: SchedulingConfiguration
    /// The scheduling tables' database (the same database the FHIR store uses; Scheduling
    /// reads only its own tables through it).
    let database: any Database

    package init(configuration: SchedulingConfiguration, database: any Database) {
        self.configuration = configuration
        self.database = database
    }

    /// A free time of one practitioner.
    package struct Proposal: Sendable, Equatable {
        package let practitioner: String
        package let schedule: String
        package let start: Int64
        package let end: Int64
    }

    /// The free times for `kind` in [from, to), earliest first: from the availability of every
    /// active Schedule the caller may read (of `practitioners` when given, offering
    /// `serviceType` when given), each within its planning horizon, never in the past, never
    /// over a busy time (except the time of `excluding`, an appointment being moved).
    package func find(
        kind: AppointmentKind, from: Int64, to: Int64, practitioners: [String]?, serviceType: String?, excluding: String? = nil,
        access: RequestAccess, service: FHIRService
    ) async throws -> [Proposal] {
        // Whoever may search Appointments may ask for free times.
        _ = try access.limit("Appointment", .search)
        let now = Instant.millis(Now.date)
        var query = "active=true&_count=200"
        if let practitioners { query += "&actor=" + practitioners.map { "Practitioner/\($0)" }.joined(separator: ",") }
        // A practitioner's Schedule says when they work, nothing about any patient, so it is read
        // as HealthHub's scheduling task (R4 puts Schedule in the Patient compartment through
        // `actor`, which would hide every practitioner's Schedule from a patient). A Schedule
        // with a Patient actor is patient data and is never used.
        let reader = RequestAccess(healthHub: .scheduling, policy: service.policy)
        let schedules = try await service.search(try service.searchRequest(type: "Schedule", query: query), access: reader).matches
        var out: [Proposal] = []
        for version in schedules {
            guard let content = version.content, let json = try JSON.parse(content).objectValue,
                !(json["actor"]?.arrayValue ?? []).contains(where: { $0["reference"]?.stringValue?.hasPrefix("Patient/") == true }),
                let availability = try ScheduleAvailability.parse(json, id: version.id)
            else { continue }
            if let serviceType, !availability.serviceTypes.contains(serviceType) { continue }
            let horizonEnd = availability.horizon.end ?? now + Int64(configuration.defaultHorizonDays) * 86_400_000
            let start = max(from, now, availability.horizon.start ?? from)
            let end = min(to, horizonEnd)
            guard start < end else { continue }
            let busy = try await busyTimes(availability.practitioner, from: start, to: end, excluding: excluding, now: now)
            out += Availability.free(rules: availability.rules, kind: kind, busy: busy, from: start, to: end).map {
                Proposal(practitioner: availability.practitioner, schedule: version.id, start: $0.start, end: $0.end)
            }
        }
        return out.sorted { ($0.start, $0.practitioner) < ($1.start, $1.practitioner) }
    }

    /// Busy time of a practitioner around [from, to) (a day either side, for buffers); holds
    /// that ran out are free.
    func busyTimes(_ practitioner: String, from: Int64, to: Int64, excluding: String?, now: Int64) async throws -> [BusyTime] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT start_ms, end_ms, buffer_before_ms, buffer_after_ms, appointment_id FROM hh_busy_time
                WHERE practitioner_id = \(bind: practitioner) AND start_ms < \(bind: to + 86_400_000) AND end_ms > \(bind: from - 86_400_000)
                AND (expires_ms IS NULL OR expires_ms > \(bind: now))
                """
            ).all().compactMap { row in
                if let excluding, try row.decode(column: "appointment_id", as: String.self) == excluding { return nil }
                return BusyTime(
                    start: try row.decode(column: "start_ms", as: Int64.self), end: try row.decode(column: "end_ms", as: Int64.self),
                    bufferBefore: try row.decode(column: "buffer_before_ms", as: Int64.self), bufferAfter: try row.decode(column: "buffer_after_ms", as: Int64.self))
            }
        }
    }

    /// Whether `start`–`end` with `practitioner` is one of the free times for `kind`.
    func isOffered(
        kind: AppointmentKind, practitioner: String, start: Int64, end: Int64, excluding: String? = nil, access: RequestAccess, service: FHIRService
    ) async throws -> Bool {
        try await find(kind: kind, from: start, to: end, practitioners: [practitioner], serviceType: nil, excluding: excluding, access: access, service: service)
            .contains { $0.start == start && $0.end == end }
    }
}
