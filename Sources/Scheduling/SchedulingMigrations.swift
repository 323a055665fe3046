// swift-format-ignore-file
// (Migration statements: their hand alignment carries meaning.)

import Storage

/// The scheduling tables. They hold no patient data, only which appointment occupies which
/// slot and which time of which practitioner (ids and instants), so the booking rules can be
/// checked with a lock and one indexed query instead of a search over sealed resources.
package enum SchedulingMigrations {
    package static let all: [Migration] = [
        Migration("scheduling.001-claims") { d in [
            // One row per Slot an active Appointment names: the primary key is the guarantee.
            // (`expires_ms`: a hold's end; NULL for a booking.)
            "CREATE TABLE hh_slot_claim (slot_id TEXT NOT NULL PRIMARY KEY, appointment_id TEXT NOT NULL, expires_ms \(d.bigintType))",
            "CREATE INDEX hh_slot_claim_appointment ON hh_slot_claim (appointment_id)",
            // The time each active Appointment takes from each practitioner taking part.
            """
            CREATE TABLE hh_busy_time (
              practitioner_id TEXT NOT NULL, start_ms \(d.bigintType) NOT NULL, end_ms \(d.bigintType) NOT NULL,
              appointment_id TEXT NOT NULL, expires_ms \(d.bigintType),
              buffer_before_ms \(d.bigintType) NOT NULL DEFAULT 0, buffer_after_ms \(d.bigintType) NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX hh_busy_time_practitioner ON hh_busy_time (practitioner_id, start_ms)",
            "CREATE INDEX hh_busy_time_appointment ON hh_busy_time (appointment_id)",
            // Each Appointment's last status and start, so a change can be told apart (events).
            "CREATE TABLE hh_appointment_state (appointment_id TEXT NOT NULL PRIMARY KEY, status TEXT NOT NULL, start_ms \(d.bigintType))",
        ] },
        // Whether that last state was a hold (a `pending` Appointment with an expiry), so that a
        // hold becoming a request for approval, or running out, is told apart from an approval.
        Migration("scheduling.002-held") { _ in [
            "ALTER TABLE hh_appointment_state ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
        ] },
    ]
}
