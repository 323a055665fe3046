import Events
import Foundation
import Kernel
import Logging
import SQLKit
import Storage
import Synchronization
import TestSupport
import Testing

/// A clock the test moves by hand.
final class HandClock: WallClock, Sendable {
    private let millis: Mutex<Int64>
    init(_ millis: Int64) { self.millis = Mutex(millis) }
    func now() -> Date { Date(timeIntervalSince1970: Double(millis.withLock { $0 }) / 1000) }
    func advance(_ ms: Int64) { millis.withLock { $0 += ms } }
}

@Suite struct EventLogTests {
    static let migrations = MigrationRunner(EventLog.migrations + JobQueue.migrations)

    @Test(arguments: TestDatabaseKind.allCases)
    func concurrentAppendsGetGaplessSequenceInCommitOrder(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: Self.migrations) { db in
            let log = EventLog(database: db)
            #expect(try await log.head() == 0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<40 {
                    group.addTask {
                        _ = try await db.transaction { tx in
                            try await log.append([.init(topic: "appointment.booked", subject: "Appointment/a\(n)", patient: "Patient/p\(n % 4)")], in: tx)
                        }
                    }
                }
                try await group.waitForAll()
            }
            // a rolled-back change leaves no event
            await #expect(throws: StorageError.self) {
                try await db.transaction { tx in
                    try await log.append([.init(topic: "x", subject: "Appointment/never")], in: tx)
                    throw StorageError.conflict
                }
            }
            let all = try await log.events(after: 0, limit: 1000)
            #expect(all.map(\.seq) == Array(1...40))
            #expect(Set(all.map(\.subject)).count == 40)
            #expect(!all.contains { $0.subject == "Appointment/never" })
            #expect(try await log.head() == 40)
            // replay from a position, and per patient
            #expect(try await log.events(after: 35).map(\.seq) == [36, 37, 38, 39, 40])
            let p1 = try await log.events(after: 0, patients: ["Patient/p1"])
            #expect(p1.count == 10 && p1.allSatisfy { $0.patient == "Patient/p1" })
            #expect(try await log.events(after: 0, patients: []).isEmpty)
            #expect(try await log.events(after: 0, limit: 3).map(\.seq) == [1, 2, 3])
        }
    }
}

@Suite struct JobQueueTests {
    static let logger = Logger(label: "jobs-test")

    /// Records what it did, in the database (`commit`) and outside it (`performed`).
    final class Recorder: JobHandler {
        let kind = "test.record"
        let maxAttempts = 3
        let performed: Mutex<[String]>
        let failFirst: Int
        init(failFirst: Int = 0) {
            performed = Mutex([])
            self.failFirst = failFirst
        }
        struct Boom: Error {}
        func perform(_ job: JobQueue.Job) async throws -> @Sendable (DatabaseTransaction) async throws -> Void {
            performed.withLock { $0.append(job.payload) }
            if job.attempts <= failFirst { throw Boom() }
            return { tx in try await tx.sql.raw("INSERT INTO effect (payload) VALUES (\(bind: job.payload))").run() }
        }
    }

    /// Does part "one" then fails on its first attempt; records what each attempt was told was done.
    final class Halfway: JobHandler {
        let kind = "test.halfway"
        let maxAttempts = 3
        let told: Mutex<[Set<String>]> = Mutex([])
        struct Half: PartlyDone {
            var done: [String] { ["one"] }
            var underlying: any Error { Recorder.Boom() }
        }
        func perform(_ job: JobQueue.Job) async throws -> @Sendable (DatabaseTransaction) async throws -> Void {
            told.withLock { $0.append(job.done) }
            if job.attempts == 1 { throw Half() }
            return { _ in }
        }
    }

    static func describe(_ queue: JobQueue, _ id: String) async throws -> String? {
        try await queue.state(of: id).map { "\($0.state.rawValue) \($0.attempts)" }
    }

    static func effects(_ db: any Database) async throws -> [String] {
        try await db.read { sql in try await sql.raw("SELECT payload FROM effect ORDER BY payload").all().map { try $0.decode(column: "payload", as: String.self) } }
    }

    static func withQueue(_ kind: TestDatabaseKind, _ body: @Sendable (any Database, JobQueue, HandClock) async throws -> Void) async throws {
        try await TestDatabases.with(kind, migrations: EventLogTests.migrations) { db in
            try await db.transaction { tx in try await tx.sql.raw("CREATE TABLE effect (payload TEXT NOT NULL)").run() }
            let clock = HandClock(1_800_000_000_000)
            try await Now.$clock.withValue(clock) { try await body(db, JobQueue(database: db), clock) }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aJobRunsWhenDueOnExactlyOneOfManyRunners(_ kind: TestDatabaseKind) async throws {
        try await Self.withQueue(kind) { db, queue, clock in
            let ids = try await db.transaction { tx in
                var ids: [String] = []
                for n in 0..<20 { ids.append(try await queue.enqueue(kind: "test.record", payload: "job-\(n)", runAt: 1_800_000_060_000, in: tx)!) }
                return ids
            }
            let recorder = Recorder()
            let runners = (0..<4).map { JobRunner(queue: queue, handlers: [recorder], instance: "i\($0)", logger: Self.logger) }
            // not due yet
            #expect(try await runners[0].runDue() == 0)
            clock.advance(60_000)
            // four instances poll at once, twice: every job runs once
            let completed = try await withThrowingTaskGroup(of: Int.self) { group in
                for runner in runners + runners {
                    group.addTask {
                        var n = 0
                        while true {
                            let done = try await runner.runDue()
                            if done == 0 { return n }
                            n += done
                        }
                    }
                }
                var total = 0
                for try await n in group { total += n }
                return total
            }
            #expect(completed == 20)
            #expect(recorder.performed.withLock { $0.count } == 20)
            #expect(try await Self.effects(db).count == 20)
            for id in ids { #expect(try await queue.state(of: id)?.state == .done) }
            #expect(try await runners[1].runDue() == 0)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aWorkerThatLostItsLeaseCommitsNothingAndTheJobRunsOnce(_ kind: TestDatabaseKind) async throws {
        try await Self.withQueue(kind) { db, queue, clock in
            let id = try await db.transaction { tx in try await queue.enqueue(kind: "test.record", payload: "reminder", runAt: 0, in: tx)! }
            // worker A claims, then stalls past its lease; B takes the job over and completes it
            let a = try await queue.claim(kinds: ["test.record"], owner: "A", lease: 1_000)
            #expect(a.count == 1)
            #expect(try await queue.claim(kinds: ["test.record"], owner: "B", lease: 1_000).isEmpty)  // leased
            clock.advance(1_001)
            let b = try await queue.claim(kinds: ["test.record"], owner: "B", lease: 60_000)
            #expect(b.map(\.id) == [id] && b[0].attempts == 2)
            try await queue.complete(b[0]) { tx in try await tx.sql.raw("INSERT INTO effect (payload) VALUES ('by B')").run() }
            // A wakes up: its completion is refused and its effect rolled back
            await #expect(throws: JobQueue.JobError.leaseLost(id)) {
                try await queue.complete(a[0]) { tx in try await tx.sql.raw("INSERT INTO effect (payload) VALUES ('by A')").run() }
            }
            #expect(try await Self.effects(db) == ["by B"])
            #expect(try await queue.state(of: id)?.state == .done)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func failuresAreRetriedWithBackoffThenGivenUp(_ kind: TestDatabaseKind) async throws {
        try await Self.withQueue(kind) { db, queue, clock in
            let (flaky, doomed) = try await db.transaction { tx in
                (
                    try await queue.enqueue(kind: "test.record", payload: "flaky", runAt: 0, in: tx)!,
                    try await queue.enqueue(kind: "other.kind", payload: "ignored", runAt: 0, in: tx)!
                )
            }
            let recorder = Recorder(failFirst: 1)
            let runner = JobRunner(queue: queue, handlers: [recorder], instance: "i", logger: Self.logger)
            #expect(try await runner.runDue() == 0)  // first attempt fails
            #expect(try await Self.describe(queue, flaky) == "queued 1")
            #expect(try await runner.runDue() == 0)  // not again before the backoff
            clock.advance(JobRunner.backoff(attempt: 1))
            #expect(try await runner.runDue() == 1)
            #expect(try await Self.effects(db) == ["flaky"])
            #expect(try await Self.describe(queue, doomed) == "queued 0")  // no handler here for its kind
            // a job that always fails is given up after maxAttempts
            let hopeless = try await db.transaction { tx in try await queue.enqueue(kind: "test.record", payload: "hopeless", runAt: Instant.millis(Now.date), in: tx)! }
            let always = Recorder(failFirst: 99)
            let runner2 = JobRunner(queue: queue, handlers: [always], instance: "j", logger: Self.logger)
            for attempt in 1...3 {
                _ = try await runner2.runDue()
                clock.advance(JobRunner.backoff(attempt: attempt))
            }
            #expect(try await Self.describe(queue, hopeless) == "failed 3")
            #expect(JobRunner.backoff(attempt: 1) == 30_000 && JobRunner.backoff(attempt: 2) == 60_000 && JobRunner.backoff(attempt: 30) == 3_600_000)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aRetryIsToldWhatTheFailedAttemptHadDone(_ kind: TestDatabaseKind) async throws {
        try await Self.withQueue(kind) { db, queue, clock in
            let id = try await db.transaction { tx in try await queue.enqueue(kind: "test.halfway", payload: "x", runAt: 0, in: tx)! }
            let handler = Halfway()
            let runner = JobRunner(queue: queue, handlers: [handler], instance: "i", logger: Self.logger)
            #expect(try await runner.runDue() == 0)
            clock.advance(JobRunner.backoff(attempt: 1))
            #expect(try await runner.runDue() == 1)
            #expect(handler.told.withLock { $0 } == [[], ["one"]])
            #expect(try await Self.describe(queue, id) == "done 2")
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aDedupeKeyEnqueuesOnceAndCancelsByPrefix(_ kind: TestDatabaseKind) async throws {
        try await Self.withQueue(kind) { db, queue, _ in
            let (first, second, other) = try await db.transaction { tx in
                (
                    try await queue.enqueue(kind: "test.record", payload: "48h", runAt: 0, dedupeKey: "reminder:Appointment/a_1:48h", in: tx),
                    try await queue.enqueue(kind: "test.record", payload: "48h again", runAt: 0, dedupeKey: "reminder:Appointment/a_1:48h", in: tx),
                    try await queue.enqueue(kind: "test.record", payload: "other", runAt: 0, dedupeKey: "reminder:Appointment/a11:48h", in: tx)
                )
            }
            #expect(first != nil && second == nil && other != nil)
            // `_` in the prefix is a character, not a LIKE wildcard: a11 is not cancelled
            #expect(try await db.transaction { tx in try await queue.cancel(dedupePrefix: "reminder:Appointment/a_1:", in: tx) } == 1)
            #expect(try await queue.state(of: first!)?.state == .cancelled)
            #expect(try await queue.state(of: other!)?.state == .queued)
        }
    }
}
