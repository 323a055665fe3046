import Telemetry

/// The 22 built-in alarms. Names, thresholds and windows are the same as the PromQL rules in
/// `deploy/prometheus/alerts.yml`, so an operator gets the same alerts from the built-in engine
/// or from their own Prometheus.
package enum AlarmRules {
    static let minute = 60.0
    static let hour = 3600.0
    static let day = 86400.0
    /// 99.9% availability: the share of requests allowed to fail.
    static let errorBudget = 0.001

    package static let all: [AlarmRule] = [
        // Multi-window burn rates (Google SRE workbook): fast burn pages within minutes, slow
        // burn catches a steady leak; both windows must agree, so a spike that is over does not page.
        AlarmRule("SLOBurnRateFast", .page, for: 2 * minute, summary: "Error budget burning 14.4x too fast (1 h and 5 min)") { h in
            burn(h, long: hour, short: 5 * minute, factor: 14.4)
        },
        AlarmRule("SLOBurnRateSlow", .page, for: 15 * minute, summary: "Error budget burning 6x too fast (6 h and 30 min)") { h in
            burn(h, long: 6 * hour, short: 30 * minute, factor: 6)
        },
        // More than 1% of requests slower than 0.2 s is the same as p99 above 0.2 s.
        AlarmRule("HighLatencyP99", .ticket, for: 5 * minute, summary: "p99 request latency above 200 ms (5 min)") { h in
            AlarmRule.above(h.ratio(.httpSlow, of: .httpRequests, over: 5 * minute), 0.01)
        },
        AlarmRule("High5xxRate", .page, for: 5 * minute, summary: "More than 5% of requests failed with 5xx (5 min)") { h in
            AlarmRule.above(h.ratio(.http5xx, of: .httpRequests, over: 5 * minute), 0.05)
        },
        AlarmRule("DatabaseErrors", .page, summary: "More than 5 database errors in 5 min") { h in
            AlarmRule.above(h.increase(.dbErrors, over: 5 * minute), 5)
        },
        AlarmRule("DatabasePoolSaturation", .ticket, for: 5 * minute, summary: "Database connections over 90% in use") { h in
            guard let used = h.value(.dbInUse), let size = h.value(.dbPoolSize), size > 0 else { return .noData }
            return AlarmRule.above(used / size, 0.9)
        },
        AlarmRule("DatabaseSlowQueries", .ticket, for: 10 * minute, summary: "p99 database operation latency above 100 ms (5 min)") { h in
            AlarmRule.above(h.ratio(.dbSlow, of: .dbOperations, over: 5 * minute), 0.01)
        },
        AlarmRule("DiskSpaceLow", .page, for: 5 * minute, summary: "Less than 10% free on the data volume") { h in
            AlarmRule.below(h.value(.diskFreeRatio), 0.10)
        },
        AlarmRule("MemoryGrowth", .ticket, for: 15 * minute, summary: "Resident memory grew more than 50% in 1 h (above 256 MiB)") { h in
            guard h.span >= hour, let now = h.value(.residentMemory), let then = h.sample(secondsAgo: hour)?.values[.residentMemory], then > 0 else { return .noData }
            let growth = now / then
            return growth > 1.5 && now > 256 * 1_048_576 ? .breach(growth) : .ok(growth)
        },
        AlarmRule("FrequentRestarts", .ticket, summary: "Three or more starts in 1 h") { h in
            guard let starts = h.value(.restartsLastHour) else { return .noData }
            return starts >= 3 ? .breach(starts) : .ok(starts)
        },
        AlarmRule("TLSCertificateExpiry", .ticket, summary: "TLS certificate expires within 14 days") { h in
            AlarmRule.below(h.value(.certificateExpiry).map { ($0 - h.now) / day }, 14)
        },
        AlarmRule("BackupStale", .ticket, summary: "No successful backup for 26 h") { h in
            AlarmRule.above(h.value(.lastBackup).map { (h.now - $0) / hour }, 26)
        },
        AlarmRule("LoginFailureSpike", .ticket, summary: "More than 20 failed sign-ins in 5 min") { h in
            AlarmRule.above(h.increase(.loginFailures, over: 5 * minute), 20)
        },
        AlarmRule("WAFBlockSpike", .ticket, summary: "More than 50 WAF blocks in 5 min") { h in
            AlarmRule.above(h.increase(.wafBlocks, over: 5 * minute), 50)
        },
        AlarmRule("RateLimitSpike", .ticket, summary: "More than 100 rate-limit refusals in 5 min") { h in
            AlarmRule.above(h.increase(.rateLimited, over: 5 * minute), 100)
        },
        AlarmRule("AuditChainBroken", .page, summary: "The audit chain failed verification") { h in
            AlarmRule.below(h.value(.auditChainOK), 1)
        },
        AlarmRule("EngineFailures", .ticket, summary: "An AI engine failed in the last 15 min") { h in
            AlarmRule.above(h.increase(.engineFailures, over: 15 * minute), 0)
        },
        AlarmRule("EngineQueueBacklog", .ticket, for: 10 * minute, summary: "More than 100 jobs waiting for an engine") { h in
            AlarmRule.above(h.value(.engineQueueDepth), 100)
        },
        AlarmRule("TokenFailureSpike", .ticket, summary: "More than 50 refused access tokens in 5 min") { h in
            AlarmRule.above(h.increase(.tokenFailures, over: 5 * minute), 50)
        },
        AlarmRule("InFlightSaturation", .ticket, for: 5 * minute, summary: "More than 200 requests in flight") { h in
            AlarmRule.above(h.value(.inFlight), 200)
        },
        AlarmRule("ComponentDown", .page, for: 2 * minute, summary: "A component probe is failing") { h in
            let probes = [Signal.probeDatabase, .probeStorage, .probeAudit].compactMap { h.value($0) }
            guard !probes.isEmpty else { return .noData }
            let down = Double(probes.filter { $0 < 1 }.count)
            return down > 0 ? .breach(down) : .ok(0)
        },
        AlarmRule("AuditCheckpointStale", .ticket, summary: "No audit chain checkpoint for 15 min") { h in
            AlarmRule.above(h.value(.auditCheckpoint).map { h.now - $0 }, 900)
        },
    ]

    static func burn(_ h: SignalHistory, long: Double, short: Double, factor: Double) -> AlarmReading {
        guard let l = h.ratio(.http5xx, of: .httpRequests, over: long), let s = h.ratio(.http5xx, of: .httpRequests, over: short) else { return .noData }
        let rate = min(l, s) / errorBudget
        return rate > factor ? .breach(rate) : .ok(rate)
    }
}
