import Foundation
import Kernel
import SQLKit
import Storage

/// Durable jobs with leases, in the database so they hold across instances and restarts: a job
/// is enqueued in the transaction of the change that wants it (a booking enqueues its
/// reminders), claimed by one worker at a time under a lease, and completed in a transaction
/// that also commits what the job wrote; a completion whose lease was lost (the worker stalled
/// past it and another took the job) is refused and rolled back, so a job's database effects
/// happen exactly once. Effects outside the database (an email, an SMS) happen at least once
/// at worst, and only when a worker lost its lease mid-send: their handlers pass the job id
/// along as an idempotency key where the channel takes one.
package struct JobQueue: Sendable {
    package let database: any Database

    package init(database: any Database) {
        self.database = database
    }

    package static let migrations: [Migration] = [
        Migration("events.002-jobs") { d in
            [
                """
                CREATE TABLE hh_job (id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, run_at_ms \(d.bigintType) NOT NULL,
                  state TEXT NOT NULL, attempts INTEGER NOT NULL, lease_owner TEXT, lease_until_ms \(d.bigintType),
                  dedupe_key TEXT UNIQUE, last_error TEXT, finished_at_ms \(d.bigintType))
                """,
                "CREATE INDEX hh_job_due ON hh_job (state, run_at_ms)",
            ]
        },
        // What a failed attempt had already done (`PartlyDone`), for the next one to skip.
        Migration("events.003-job-progress") { _ in ["ALTER TABLE hh_job ADD COLUMN progress TEXT"] },
    ]

    /// A job as a worker gets it. `payload` is the handler's own (ids and settings, never
    /// patient data: it is stored as it is).
    package struct Job: Sendable, Equatable {
        package let id: String
        package let kind: String
        package let payload: String
        package let attempts: Int
        package let leaseOwner: String
        /// What earlier attempts had done before they failed (`PartlyDone`), nil when nothing.
        package var progress: String? = nil

        /// The parts of the work earlier attempts did (`PartlyDone.done`), not to be done again.
        package var done: Set<String> { Set((progress ?? "").split(separator: ",").map(String.init)) }
    }

    package enum State: String, Sendable { case queued, running, done, failed, cancelled }

    package enum JobError: Error, Equatable, CustomStringConvertible {
        /// The worker's lease ran out and the job went to another worker (or was cancelled).
        case leaseLost(String)
        package var description: String {
            switch self {
            case .leaseLost(let id): "the lease of job \(id) was lost; its work was not committed"
            }
        }
    }

    /// Enqueues a job to run at `runAt` (ms). With `dedupeKey`, a second enqueue of the same
    /// key is a no-op (a reminder is enqueued once per appointment and offset). Returns the id,
    /// or nil when the key existed.
    @discardableResult
    package func enqueue(kind: String, payload: String, runAt: Int64, dedupeKey: String? = nil, in tx: DatabaseTransaction) async throws -> String? {
        if let dedupeKey, try await tx.sql.raw("SELECT id FROM hh_job WHERE dedupe_key = \(bind: dedupeKey)").first() != nil { return nil }
        let id = ResourceID.generate()
        try await tx.sql.raw(
            "INSERT INTO hh_job (id, kind, payload, run_at_ms, state, attempts, dedupe_key) VALUES (\(bind: id), \(bind: kind), \(bind: payload), \(bind: runAt), 'queued', 0, \(bind: dedupeKey))"
        ).run()
        return id
    }

    /// Cancels queued jobs whose dedupe key starts with `prefix` (a cancelled appointment's
    /// reminders); returns how many.
    @discardableResult
    package func cancel(dedupePrefix prefix: String, in tx: DatabaseTransaction) async throws -> Int {
        let rows = try await tx.sql.raw(
            "UPDATE hh_job SET state = 'cancelled', finished_at_ms = \(bind: Instant.millis(Now.date)) WHERE state = 'queued' AND dedupe_key LIKE \(bind: Self.likePrefix(prefix)) ESCAPE '\\' RETURNING id"
        ).all()
        return rows.count
    }

    static func likePrefix(_ prefix: String) -> String {
        prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
    }

    /// Claims up to `limit` due jobs of `kinds` for `owner` for `lease` ms: queued ones whose
    /// time has come, and running ones whose lease ran out (their worker died). Each job is
    /// claimed by one worker: the claim is one serialized transaction.
    package func claim(kinds: [String], owner: String, lease: Int64, limit: Int = 10) async throws -> [Job] {
        guard !kinds.isEmpty else { return [] }
        return try await database.transaction { tx in
            try await tx.lock("job-claim")
            let now = Instant.millis(Now.date)
            let kindList = kinds.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")
            let due = try await tx.sql.raw(
                "SELECT id, kind, payload, attempts, progress FROM hh_job WHERE kind IN (" + kindList
                    + ") AND ((state = 'queued' AND run_at_ms <= \(bind: now)) OR (state = 'running' AND lease_until_ms < \(bind: now))) ORDER BY run_at_ms LIMIT \(bind: limit)"
            ).all()
            var jobs: [Job] = []
            for row in due {
                let id = try row.decode(column: "id", as: String.self)
                let attempts = try row.decode(column: "attempts", as: Int.self) + 1
                try await tx.sql.raw(
                    "UPDATE hh_job SET state = 'running', attempts = \(bind: attempts), lease_owner = \(bind: owner), lease_until_ms = \(bind: now + lease) WHERE id = \(bind: id)"
                ).run()
                jobs.append(
                    Job(
                        id: id, kind: try row.decode(column: "kind", as: String.self), payload: try row.decode(column: "payload", as: String.self), attempts: attempts,
                        leaseOwner: owner, progress: try row.decode(column: "progress", as: String?.self)))
            }
            return jobs
        }
    }

    /// Completes `job` and commits `work` (the job's database effects) with it, in one
    /// transaction; throws `leaseLost` and commits nothing when the lease is no longer this
    /// worker's.
    package func complete<T: Sendable>(_ job: Job, _ work: @Sendable (DatabaseTransaction) async throws -> T) async throws -> T {
        try await database.transaction { tx in
            try await requireLease(job, in: tx)
            let result = try await work(tx)
            try await tx.sql.raw(
                "UPDATE hh_job SET state = 'done', lease_until_ms = NULL, last_error = NULL, finished_at_ms = \(bind: Instant.millis(Now.date)) WHERE id = \(bind: job.id)"
            ).run()
            return result
        }
    }

    /// A failed attempt: tried again after `retryAfter` ms, or given up (`failed`) after
    /// `maxAttempts`. `reason` is stored for operators; it must not contain patient data.
    /// `progress`, when given, replaces what the next attempt is told was done already.
    package func fail(_ job: Job, reason: String, retryAfter: Int64, maxAttempts: Int, progress: String? = nil) async throws {
        try await database.transaction { tx in
            try await requireLease(job, in: tx)
            let now = Instant.millis(Now.date)
            let state: State = job.attempts >= maxAttempts ? .failed : .queued
            try await tx.sql.raw(
                "UPDATE hh_job SET state = \(bind: state.rawValue), run_at_ms = \(bind: now + retryAfter), lease_owner = NULL, lease_until_ms = NULL, last_error = \(bind: String(reason.prefix(300))), finished_at_ms = \(bind: state == .failed ? now : nil), progress = \(bind: progress ?? job.progress) WHERE id = \(bind: job.id)"
            ).run()
        }
    }

    /// Extends a running job's lease (a long job calls this before its lease runs out).
    package func renew(_ job: Job, lease: Int64) async throws {
        try await database.transaction { tx in
            try await requireLease(job, in: tx)
            try await tx.sql.raw("UPDATE hh_job SET lease_until_ms = \(bind: Instant.millis(Now.date) + lease) WHERE id = \(bind: job.id)").run()
        }
    }

    private func requireLease(_ job: Job, in tx: DatabaseTransaction) async throws {
        try await tx.lock("job:\(job.id)")
        let row = try await tx.sql.raw("SELECT state, lease_owner, lease_until_ms FROM hh_job WHERE id = \(bind: job.id)").first()
        guard let row, try row.decode(column: "state", as: String.self) == State.running.rawValue,
            try row.decode(column: "lease_owner", as: String?.self) == job.leaseOwner,
            try row.decode(column: "lease_until_ms", as: Int64?.self).map({ $0 >= Instant.millis(Now.date) }) == true
        else { throw JobError.leaseLost(job.id) }
    }

    /// A job's state (for tests, `/api` and operators).
    package func state(of id: String) async throws -> (state: State, attempts: Int)? {
        try await database.read { db in
            guard let row = try await db.raw("SELECT state, attempts FROM hh_job WHERE id = \(bind: id)").first() else { return nil }
            return (State(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed, try row.decode(column: "attempts", as: Int.self))
        }
    }
}
