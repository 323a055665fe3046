import Foundation
import Kernel
import Telemetry

/// Admission to one engine: at most `concurrency` calls run at once, at most `queueLimit` more
/// wait, and any beyond that are refused at once with `EngineError.busy` (an answer in
/// milliseconds, rather than a request that waits behind a minute of work). Every call is
/// counted and timed in the metrics by capability, engine and outcome.
package actor EngineGate {
    package let capability: String
    package let engine: String
    package let concurrency: Int
    package let queueLimit: Int
    private let telemetry: Telemetry?
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    package init(capability: String, engine: String, concurrency: Int, queueLimit: Int, telemetry: Telemetry?) {
        self.capability = capability
        self.engine = engine
        self.concurrency = max(1, concurrency)
        self.queueLimit = max(0, queueLimit)
        self.telemetry = telemetry
    }

    /// How many calls run and wait now.
    package var load: (running: Int, waiting: Int) { (running, waiting.count) }

    /// Runs `body` when a place is free; refuses when the queue is full.
    package func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if running >= concurrency {
            guard waiting.count < queueLimit else {
                telemetry?.engineCall(capability: capability, engine: engine, outcome: "busy", seconds: nil)
                throw EngineError.busy(engine: engine, retryAfter: 2)
            }
            await withCheckedContinuation { waiting.append($0) }
        } else {
            running += 1
        }
        let started = ContinuousClock.now
        defer { release() }
        do {
            let value = try await body()
            telemetry?.engineCall(capability: capability, engine: engine, outcome: "ok", seconds: Self.seconds(since: started))
            return value
        } catch let error as EngineError {
            telemetry?.engineCall(capability: capability, engine: engine, outcome: error.code, seconds: Self.seconds(since: started))
            throw error
        } catch {
            telemetry?.engineCall(capability: capability, engine: engine, outcome: "error", seconds: Self.seconds(since: started))
            throw error
        }
    }

    /// Hands the place to the first waiter, or frees it.
    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
