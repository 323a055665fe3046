import Events
import FHIR
import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Storage

/// No double booking, on every path that writes an Appointment (plain and conditional
/// creates, updates, patches, Bundles, imports, and the scheduling operations, which write
/// through the same store): a Slot is taken by at most one active Appointment, and a
/// practitioner never has two active Appointments whose times overlap, Slot or no Slot.
///
/// The rule runs in the Appointment's write transaction (a `ResourceWriteRule`). It serializes
/// writers per Slot and per practitioner (advisory locks on PostgreSQL, the single writer on
/// SQLite), checks its claim tables, and then records the claims; a refusal is a 409 and rolls
/// the whole write back. A Slot an Appointment takes becomes `busy`, and `free` again when the
/// Appointment is cancelled, marked a no-show or deleted.
package struct BookingRule: ResourceWriteRule {
    /// The appointment kinds, whose buffers are recorded with the busy time (for `$find`).
    let kinds: [String: AppointmentKind]
    /// Where a hold's expiry job is queued (none in tests of the rule alone).
    let jobs: JobQueue?

    package init(kinds: [AppointmentKind] = [], jobs: JobQueue? = nil) {
        self.kinds = Dictionary(kinds.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
        self.jobs = jobs
    }

    package var types: Set<String> { ["Appointment"] }

    /// Statuses that hold their time. `proposed` and `waitlist` hold nothing yet; `cancelled`,
    /// `noshow` and `entered-in-error` give it back.
    package static let activeStatuses: Set<String> = ["pending", "booked", "arrived", "fulfilled", "checked-in"]

    package func apply(_ change: ResourceChange, store: ResourceStore, in tx: DatabaseTransaction) async throws {
        let appointment = change.id
        let previousSlots = try await tx.sql.raw("SELECT slot_id FROM hh_slot_claim WHERE appointment_id = \(bind: appointment)")
            .all().map { try $0.decode(column: "slot_id", as: String.self) }
        try await tx.sql.raw("DELETE FROM hh_slot_claim WHERE appointment_id = \(bind: appointment)").run()
        try await tx.sql.raw("DELETE FROM hh_busy_time WHERE appointment_id = \(bind: appointment)").run()

        let now = Instant.millis(Now.date)
        if let resource = change.resource { try Self.requirePeriod(resource) }
        let claim = change.resource.flatMap(Claim.init)
        if let expires = claim?.holdExpires, expires <= now {
            throw FHIRError(.conflict, code: "conflict", "The hold on this time has expired; find and hold a time again", expression: ["Appointment.extension"])
        }
        let slots = claim?.slots ?? []
        // Locks in one order (Slots, then practitioners, each sorted) so two bookings cannot
        // wait for each other.
        for (index, slot) in slots.enumerated().sorted(by: { $0.element < $1.element }) {
            try await tx.lock("slot:\(slot)")
            try await take(slot: slot, index: index, for: appointment, heldBefore: previousSlots.contains(slot), expires: claim?.holdExpires, now: now, store: store, in: tx)
        }
        if let claim, let time = claim.time {
            for practitioner in claim.practitioners.sorted() {
                try await tx.lock("practitioner-time:\(practitioner)")
                // a hold that ran out holds nothing, whether or not its expiry job has run yet
                let overlapping = try await tx.sql.raw(
                    "SELECT appointment_id FROM hh_busy_time WHERE practitioner_id = \(bind: practitioner) AND start_ms < \(bind: time.end) AND end_ms > \(bind: time.start) AND (expires_ms IS NULL OR expires_ms > \(bind: now)) LIMIT 1"
                ).first()
                if overlapping != nil {
                    throw FHIRError(
                        .conflict, code: "conflict", "Practitioner/\(practitioner) already has an appointment at this time",
                        expression: ["Appointment.participant"])
                }
                let kind = claim.kind.flatMap { kinds[$0] }
                let before = Int64(kind?.bufferBefore ?? 0) * 60_000
                let after = Int64(kind?.bufferAfter ?? 0) * 60_000
                try await tx.sql.raw(
                    "INSERT INTO hh_busy_time (practitioner_id, start_ms, end_ms, appointment_id, expires_ms, buffer_before_ms, buffer_after_ms) VALUES (\(bind: practitioner), \(bind: time.start), \(bind: time.end), \(bind: appointment), \(bind: claim.holdExpires), \(bind: before), \(bind: after))"
                ).run()
            }
        }
        if let expires = claim?.holdExpires, let jobs {
            try await jobs.enqueue(kind: HoldExpiry.kind, payload: appointment, runAt: expires, dedupeKey: "hold-expiry:\(appointment):\(expires)", in: tx)
        }
        for slot in previousSlots where !slots.contains(slot) {
            try await tx.lock("slot:\(slot)")
            try await setSlot(slot, status: "free", store: store, in: tx)
        }
    }

    /// Claims `slot` for the appointment: it must exist, be free (or already this
    /// appointment's: `heldBefore`), and no other active appointment may hold it.
    private func take(
        slot: String, index: Int, for appointment: String, heldBefore: Bool, expires: Int64?, now: Int64, store: ResourceStore, in tx: DatabaseTransaction
    ) async throws {
        let path = "Appointment.slot[\(index)]"
        // an expired hold's claim gives way (its Slot is still `busy` until its expiry job runs)
        let released = !(try await tx.sql.raw("DELETE FROM hh_slot_claim WHERE slot_id = \(bind: slot) AND expires_ms <= \(bind: now) RETURNING slot_id").all()).isEmpty
        if try await tx.sql.raw("SELECT appointment_id FROM hh_slot_claim WHERE slot_id = \(bind: slot)").first() != nil {
            throw FHIRError(.conflict, code: "conflict", "Slot/\(slot) is already booked", expression: [path])
        }
        guard let current = try await store.read("Slot", slot, on: tx.sql), !current.deleted, let content = current.content,
            let resource = try JSON.parse(content).objectValue
        else {
            throw FHIRError(.unprocessableContent, code: "not-found", "Slot/\(slot) does not exist", expression: [path])
        }
        let status = resource["status"]?.stringValue
        // busy without a live claim: taken before by this appointment, or by a hold that ran out
        if status != "free" && !(status == "busy" && (heldBefore || released)) {
            throw FHIRError(.conflict, code: "conflict", "Slot/\(slot) is not free (\(status ?? "no status"))", expression: [path])
        }
        try await tx.sql.raw("INSERT INTO hh_slot_claim (slot_id, appointment_id, expires_ms) VALUES (\(bind: slot), \(bind: appointment), \(bind: expires))").run()
        if status != "busy" { try await setSlot(slot, status: "busy", store: store, in: tx) }
    }

    private func setSlot(_ slot: String, status: String, store: ResourceStore, in tx: DatabaseTransaction) async throws {
        guard let current = try await store.read("Slot", slot, on: tx.sql), !current.deleted, let content = current.content,
            var resource = try JSON.parse(content).objectValue, resource["status"]?.stringValue != status,
            // A Slot closed by staff (busy-unavailable, busy-tentative) stays as they set it.
            status == "busy" || resource["status"]?.stringValue == "busy"
        else { return }
        resource["status"] = .string(status)
        _ = try await store.update(resource, type: "Slot", id: slot, ifMatch: nil, in: tx)
    }

    /// R4's app-2 and app-3, which the validator does not hold: an Appointment that is not
    /// proposed, cancelled or on the waitlist has a start and an end, and the end comes after the
    /// start (an active appointment without a real period would hold no time, and could be
    /// booked over).
    static func requirePeriod(_ appointment: JSONObject) throws(FHIRError) {
        let start = appointment["start"]?.stringValue.flatMap(DateRange.init)?.low
        let end = appointment["end"]?.stringValue.flatMap(DateRange.init)?.low
        let status = appointment["status"]?.stringValue ?? ""
        if start == nil || end == nil {
            guard ["proposed", "cancelled", "waitlist"].contains(status) else {
                throw FHIRError(
                    .unprocessableContent, code: "invariant", "A \(status) appointment needs a start and an end (app-3)",
                    expression: [start == nil ? "Appointment.start" : "Appointment.end"])
            }
            return
        }
        if let start, let end, end <= start {
            throw FHIRError(.unprocessableContent, code: "invariant", "The appointment must end after it starts", expression: ["Appointment.end"])
        }
    }

    /// What an active Appointment claims: its Slots and its practitioners' time.
    struct Claim {
        var slots: [String]
        var practitioners: Set<String>
        var time: (start: Int64, end: Int64)?
        /// The appointment kind (`appointmentType` code).
        var kind: String?
        /// When the appointment is a hold (`$hold`): the instant it runs out.
        var holdExpires: Int64?

        init?(_ appointment: JSONObject) {
            guard let status = appointment["status"]?.stringValue, BookingRule.activeStatuses.contains(status) else { return nil }
            var seen = Set<String>()
            slots = (appointment["slot"]?.arrayValue ?? []).compactMap { Self.id(of: $0, type: "Slot") }.filter { seen.insert($0).inserted }
            practitioners = Set(
                (appointment["participant"]?.arrayValue ?? []).compactMap { participant in
                    participant["status"]?.stringValue == "declined" ? nil : Self.id(of: participant["actor"] ?? .null, type: "Practitioner")
                })
            if let start = appointment["start"]?.stringValue.flatMap(DateRange.init)?.low,
                let end = appointment["end"]?.stringValue.flatMap(DateRange.init)?.low, end > start
            {
                time = (start, end)
            }
            kind = appointment["appointmentType"]?["coding"]?.arrayValue?.first?["code"]?.stringValue
            holdExpires = SchedulingVocabulary.holdExpiry(of: appointment)
        }

        /// The id a reference to a `type` resource names, however it is spelled: `Type/id`,
        /// `Type/id/_history/n`, or an absolute URL ending in `Type/id` (counted as that resource
        /// whatever its server: refusing a booking is safer than double-booking a practitioner).
        static func id(of reference: JSON, type: String) -> String? {
            guard var text = reference["reference"]?.stringValue else { return nil }
            if let r = text.range(of: "/_history/") { text = String(text[..<r.lowerBound]) }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, parts[parts.count - 2] == type, let id = parts.last, ResourceID.isValid(id) else { return nil }
            guard parts.count == 2 || text.contains("://") else { return nil }
            return id
        }
    }
}
