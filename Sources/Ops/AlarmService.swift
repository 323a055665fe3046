import Alarms
import Foundation
import Kernel
import Logging
import ServiceLifecycle
import Telemetry

/// The alarm engine as a background service: every `interval` it samples telemetry and
/// evaluates the 22 rules; every minute it runs the probes (bounded by a timeout) and adds them
/// to the uptime tallies. Notifications go through one queue, in order (a RESOLVED never
/// overtakes its FIRING), sent by their own task so that retries never delay an evaluation.
package struct AlarmService: Service {
    let coordinator: AlarmCoordinator
    let uptime: UptimeStore
    let probes: SystemProbes
    let notifier: AlarmNotifier
    let telemetry: Telemetry
    let interval: Duration
    let logger: Logger

    package init(
        coordinator: AlarmCoordinator, uptime: UptimeStore, probes: SystemProbes, notifier: AlarmNotifier,
        telemetry: Telemetry, interval: Duration = .seconds(15), logger: Logger
    ) {
        self.coordinator = coordinator
        self.uptime = uptime
        self.probes = probes
        self.notifier = notifier
        self.telemetry = telemetry
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        let started = Now.date.timeIntervalSince1970
        do {
            telemetry.set(.restartsLastHour, Double(try await coordinator.store.recordStart(at: started)))
        } catch {
            logger.error("could not record the process start", metadata: ["error": .string(String(describing: error).prefix(200).description)])
        }
        let (queue, enqueue) = AsyncStream.makeStream(of: AlarmNotification.self)
        // At shutdown the loop ends and deliveries still retrying are cancelled with it.
        try? await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    for await notification in queue { await notifier.send(notification) }
                }
                var lastProbe = -Double.infinity
                while !Task.isCancelled {
                    let now = Now.date.timeIntervalSince1970
                    if now - lastProbe >= 60 {
                        lastProbe = now
                        await probe(at: now)
                    }
                    for notification in await evaluate(at: now) { enqueue.yield(notification) }
                    try await Task.sleep(for: interval)
                }
                enqueue.finish()
            }
        }
    }

    func probe(at now: Double) async {
        let results = await probes.run(now: now, timeout: .seconds(10))
        do {
            let missed = try await uptime.record(results, at: now)
            if missed > 0 { logger.notice("uptime: minutes without probes counted as down", metadata: ["minutes": .stringConvertible(missed)]) }
            telemetry.set(.restartsLastHour, Double(try await coordinator.store.starts(since: now - 3600)))
        } catch {
            logger.error("could not record probe results", metadata: ["error": .string(String(describing: error).prefix(200).description)])
        }
    }

    func evaluate(at now: Double) async -> [AlarmNotification] {
        let outcome = await coordinator.observe(SignalSample(at: now, values: telemetry.snapshot()))
        for t in outcome.transitions {
            logger.info(
                "alarm state",
                metadata: [
                    "alarm": .string(t.rule), "from": .string(t.from.rawValue), "to": .string(t.to.rawValue),
                    "silenced": .stringConvertible(outcome.silenced.contains(t.rule)),
                ])
        }
        if let problem = outcome.storeError { logger.error("alarm store unavailable; notifications still go out", metadata: ["error": .string(problem)]) }
        return outcome.notifications
    }
}
