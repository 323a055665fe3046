import Alarms
import Foundation
import Telemetry
import TestSupport
import Testing

/// A simulated server: counters grow at per-second rates, gauges hold values; a phase changes
/// the rates. Samples every minute, like a slower version of the real 15 s evaluation.
struct Simulation {
    var t = 1_800_000_000.0
    var totals: [Signal: Double] = [:]
    var memory = 300.0 * 1_048_576
    var history = SignalHistory()

    /// Healthy rates and values (per second for counters); timestamps are relative to now.
    static func healthy(_ t: Double) -> [Signal: Double] {
        [
            .httpRequests: 10, .http5xx: 0, .httpSlow: 0.01, .dbOperations: 20, .dbErrors: 0, .dbSlow: 0.02,
            .wafBlocks: 0.05, .rateLimited: 0.1, .loginFailures: 0.01, .tokenFailures: 0.05, .engineFailures: 0,
            .dbInUse: 1, .dbPoolSize: 5, .diskFreeRatio: 0.5, .restartsLastHour: 1, .certificateExpiry: t + 90 * 86400,
            .lastBackup: t - 3600, .auditChainOK: 1, .auditCheckpoint: t - 10, .engineQueueDepth: 0, .inFlight: 3,
            .probeDatabase: 1, .probeStorage: 1, .probeAudit: 1,
        ]
    }

    /// Advances one minute under `profile`; `growMemory` adds 1 MiB/s of resident memory.
    mutating func step(_ profile: [Signal: Double], growMemory: Bool = false) {
        t += 60
        var values: [Signal: Double] = [:]
        for (signal, v) in profile {
            if signal.isCounter {
                totals[signal, default: 0] += v * 60
                values[signal] = totals[signal]
            } else {
                values[signal] = v
            }
        }
        if growMemory { memory += 60 * 1_048_576 }
        values[.residentMemory] = memory
        history.append(SignalSample(at: t, values: values))
    }
}

/// How each rule is pushed over its threshold, on top of the healthy profile.
let breaches: [String: @Sendable (Double) -> [Signal: Double]] = [
    "SLOBurnRateFast": { _ in [.http5xx: 5] },  // 50% errors: burn rate 500x
    "SLOBurnRateSlow": { _ in [.http5xx: 0.1] },  // 1% errors: burn 10x (slow fires, fast does not)
    "HighLatencyP99": { _ in [.httpSlow: 0.5] },  // 5% slower than 0.2 s
    "High5xxRate": { _ in [.http5xx: 1] },  // 10%
    "DatabaseErrors": { _ in [.dbErrors: 0.1] },  // 30 per 5 min
    "DatabasePoolSaturation": { _ in [.dbInUse: 5] },
    "DatabaseSlowQueries": { _ in [.dbSlow: 1] },  // 5%
    "DiskSpaceLow": { _ in [.diskFreeRatio: 0.05] },
    "MemoryGrowth": { _ in [:] },  // memory grows, see growMemory
    "FrequentRestarts": { _ in [.restartsLastHour: 3] },
    "TLSCertificateExpiry": { t in [.certificateExpiry: t + 7 * 86400] },
    "BackupStale": { t in [.lastBackup: t - 30 * 3600] },
    "LoginFailureSpike": { _ in [.loginFailures: 0.2] },  // 60 per 5 min
    "WAFBlockSpike": { _ in [.wafBlocks: 0.5] },
    "RateLimitSpike": { _ in [.rateLimited: 1] },
    "AuditChainBroken": { _ in [.auditChainOK: 0] },
    "EngineFailures": { _ in [.engineFailures: 0.01] },
    "EngineQueueBacklog": { _ in [.engineQueueDepth: 500] },
    "TokenFailureSpike": { _ in [.tokenFailures: 0.5] },
    "InFlightSaturation": { _ in [.inFlight: 300] },
    "ComponentDown": { _ in [.probeDatabase: 0] },
    "AuditCheckpointStale": { t in [.auditCheckpoint: t - 1200] },
]

@Suite struct AlarmRulesTests {
    @Test func thereAre22RulesWithDistinctNamesMatchingTheShippedPrometheusRules() throws {
        let names = AlarmRules.all.map(\.name)
        #expect(names.count == 22)
        #expect(Set(names).count == 22)
        #expect(Set(breaches.keys) == Set(names))
        // the PromQL rules shipped for an operator's own Prometheus are the same 22
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let yaml = try String(contentsOf: repo.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
        let shipped = yaml.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("- alert: ") ? String(t.dropFirst(9)) : nil
        }
        #expect(shipped == names)
    }

    @Test func aHealthyServerRaisesNoAlarmOverSevenHours() {
        var sim = Simulation()
        let engine = AlarmEngine(now: sim.t)
        var transitions: [AlarmTransition] = []
        for _ in 0..<(7 * 60) {
            sim.step(Simulation.healthy(sim.t + 60))
            transitions += engine.evaluate(sim.history)
        }
        #expect(transitions.isEmpty, "\(transitions.map(\.rule))")
        #expect(engine.statuses().allSatisfy { $0.state == .ok && !$0.noData })
    }

    /// Every rule, driven by synthetic signals: OK → PENDING → FIRING (no earlier than its `for`)
    /// → RESOLVED → OK, with the time spent in each state on the transitions; its FIRING and
    /// RESOLVED notifications reach a local webhook receiver and a local SMTP stand-in.
    @Test(arguments: AlarmRules.all.map(\.name))
    func ruleGoesThroughItsLifecycle(_ name: String) async throws {
        let rule = try #require(AlarmRules.all.first { $0.name == name })
        let breach = try #require(breaches[name])
        var sim = Simulation()
        let engine = AlarmEngine(rules: [rule], now: sim.t)
        var seen: [AlarmTransition] = []
        // 6 h of health fills the longest window.
        for _ in 0..<(6 * 60) {
            sim.step(Simulation.healthy(sim.t + 60))
            seen += engine.evaluate(sim.history)
        }
        #expect(seen.isEmpty)
        let breachStart = sim.t + 60
        var minutes = 0
        while engine.statuses()[0].state != .firing && minutes < 8 * 60 {
            sim.step(Simulation.healthy(sim.t + 60).merging(breach(sim.t + 60)) { $1 }, growMemory: name == "MemoryGrowth")
            seen += engine.evaluate(sim.history)
            minutes += 1
        }
        #expect(engine.statuses()[0].state == .firing, "\(name) did not fire within 8 h of breach")
        // Stay firing a while, then heal.
        for _ in 0..<5 { sim.step(Simulation.healthy(sim.t + 60).merging(breach(sim.t + 60)) { $1 }, growMemory: name == "MemoryGrowth"); seen += engine.evaluate(sim.history) }
        minutes = 0
        while engine.statuses()[0].state != .ok && minutes < 8 * 60 {
            sim.step(Simulation.healthy(sim.t + 60))
            seen += engine.evaluate(sim.history)
            minutes += 1
        }
        #expect(seen.map(\.to) == [.pending, .firing, .resolved, .ok], "\(name): \(seen.map { "\($0.from)->\($0.to)" })")
        guard seen.count == 4 else { return }
        #expect(seen[0].at >= breachStart)
        #expect(seen[1].duration >= rule.pendingFor, "\(name) fired after \(seen[1].duration) s pending, needs \(rule.pendingFor)")
        #expect(seen[1].at - seen[0].at == seen[1].duration)
        #expect(seen[2].duration >= 5 * 60, "firing lasted at least the 5 breached minutes")
        #expect(seen[1].value != nil)

        let smtp = try await SMTPStandIn.start()
        let transitions = seen
        try await withWebhookReceiver(failures: 0) { url, receiver in
            let channels: [any AlarmChannel] = [
                WebhookChannel(url: url),
                try SMTPChannel(url: "smtp://127.0.0.1:\(smtp.port)", from: "alarms@h.example.org", to: ["ops@h.example.org"]),
            ]
            let notifier = AlarmNotifier(channels: channels, maxAttempts: 2, backoff: .milliseconds(5), logger: quietLogger)
            for t in transitions where t.notifies {
                #expect(await notifier.send(AlarmNotification(t, instance: "node-a")) == ["webhook": true, "email": true])
            }
            let posted = try receiver.accepted.map { try #require(try JSONSerialization.jsonObject(with: $0) as? [String: Any]) }
            #expect(posted.map { $0["alarm"] as? String } == [name, name])
            #expect(posted.map { $0["status"] as? String } == ["firing", "resolved"])
            #expect(posted.last?["firingSeconds"] as? Double == transitions[2].duration)
            #expect(smtp.messages.map { $0.data.contains("Alarm: \(name)\r\n") } == [true, true])
            #expect(smtp.messages.first?.data.contains("Subject: [FIRING \(rule.severity.rawValue)] \(name): ") == true)
        }
        try await smtp.stop()
    }

    @Test func aBreachShorterThanItsWaitReturnsToOKWithoutFiring() {
        var sim = Simulation()
        let engine = AlarmEngine(now: sim.t)
        for _ in 0..<10 { sim.step(Simulation.healthy(sim.t + 60)) }
        _ = engine.evaluate(sim.history)
        var seen: [AlarmTransition] = []
        for _ in 0..<2 {
            sim.step(Simulation.healthy(sim.t + 60).merging([.inFlight: 300]) { $1 })
            seen += engine.evaluate(sim.history)
        }
        sim.step(Simulation.healthy(sim.t + 60))
        seen += engine.evaluate(sim.history)
        let inFlight = seen.filter { $0.rule == "InFlightSaturation" }
        #expect(inFlight.map(\.to) == [.pending, .ok])
        #expect(inFlight.allSatisfy { !$0.notifies })
    }

    @Test func missingSignalsAreNoDataNotOK() {
        var history = SignalHistory()
        history.append(SignalSample(at: 1000, values: [.httpRequests: 5, .http5xx: 0]))
        let engine = AlarmEngine(now: 1000)
        #expect(engine.evaluate(history).isEmpty)
        let byName = Dictionary(uniqueKeysWithValues: engine.statuses().map { ($0.name, $0) })
        for name in ["BackupStale", "TLSCertificateExpiry", "EngineFailures", "EngineQueueBacklog", "AuditChainBroken", "DiskSpaceLow"] {
            #expect(byName[name]?.noData == true, "\(name)")
            #expect(byName[name]?.state == .ok)
        }
        #expect(byName["High5xxRate"]?.noData == false)
        #expect(byName["High5xxRate"]?.value == 0)
    }

    @Test func historyWindowsUseTheSampleAtTheWindowStartAndSurviveCounterResets() {
        var h = SignalHistory(retention: 600)
        for i in 0...20 { h.append(SignalSample(at: Double(i * 60), values: [.httpRequests: Double(i * 100)])) }
        #expect(h.samples.first?.at == 600)  // older than retention dropped
        #expect(h.increase(.httpRequests, over: 300) == 500)
        #expect(h.increase(.httpRequests, over: 3600) == 1000)  // shorter history: from the oldest kept
        #expect(h.span == 600)
        h.append(SignalSample(at: 1260, values: [.httpRequests: 40]))  // restart: counter reset
        #expect(h.increase(.httpRequests, over: 60) == 40)
        #expect(h.ratio(.http5xx, of: .httpRequests, over: 60) == nil)
    }
}
