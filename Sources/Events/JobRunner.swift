import Foundation
import Kernel
import Logging
import ServiceLifecycle
import Storage

/// What one kind of job does. `perform` does the work outside the database (sending an email)
/// and returns what to commit; the runner commits it with the job's completion, in one
/// transaction that is refused if the lease was lost.
package protocol JobHandler: Sendable {
    var kind: String { get }
    /// Attempts before the job is given up (`failed`).
    var maxAttempts: Int { get }
    func perform(_ job: JobQueue.Job) async throws -> @Sendable (DatabaseTransactionBox) async throws -> Void
}

/// The transaction a handler's commit step writes in (a box so `Events` users need not know
/// Storage's transaction type to name the closure).
package typealias DatabaseTransactionBox = Storage.DatabaseTransaction

/// Polls the queue for due jobs of its handlers' kinds and runs them, one instance of many:
/// every instance may run a runner, and each job still runs on one of them at a time.
package struct JobRunner: Service {
    let queue: JobQueue
    let handlers: [String: any JobHandler]
    let owner: String
    let lease: Int64
    let pollInterval: Duration
    let logger: Logger

    /// `owner` names this instance and run in the lease (`instance:uuid`).
    package init(queue: JobQueue, handlers: [any JobHandler], instance: String, lease: Int64 = 60_000, pollInterval: Duration = .seconds(2), logger: Logger) {
        self.queue = queue
        self.handlers = Dictionary(handlers.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })
        self.owner = "\(instance):\(ResourceID.generate())"
        self.lease = lease
        self.pollInterval = pollInterval
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await runDue()
            } catch {
                logger.warning("job poll failed", metadata: ["error": .string(String(describing: type(of: error)))])
            }
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// Claims and runs what is due now; returns how many jobs it completed.
    package func runDue() async throws -> Int {
        let jobs = try await queue.claim(kinds: Array(handlers.keys), owner: owner, lease: lease)
        var completed = 0
        for job in jobs {
            guard let handler = handlers[job.kind] else { continue }
            do {
                let commit = try await handler.perform(job)
                try await queue.complete(job, commit)
                completed += 1
            } catch let error as JobQueue.JobError {
                logger.warning("job lease lost", metadata: ["job": .string(job.id), "kind": .string(job.kind), "error": .string(error.description)])
            } catch {
                let partial = error as? any PartlyDone
                // The error's type only: a message could carry what the job was about.
                let reason = String(describing: type(of: partial?.underlying ?? error))
                logger.warning(
                    "job attempt failed", metadata: ["job": .string(job.id), "kind": .string(job.kind), "attempt": .stringConvertible(job.attempts), "error": .string(reason)])
                try? await queue.fail(
                    job, reason: reason, retryAfter: Self.backoff(attempt: job.attempts), maxAttempts: handler.maxAttempts, progress: partial.map { $0.done.joined(separator: ",") }
                )
            }
        }
        return completed
    }

    /// 30 s, 1 min, 2 min, ... at most an hour.
    package static func backoff(attempt: Int) -> Int64 {
        min(3_600_000, 30_000 << Int64(min(max(attempt - 1, 0), 7)))
    }
}
