import Foundation
import Kernel
import Prometheus
import Synchronization

/// The process's metrics, in one place: what `/metrics` exports (swift-prometheus) and what the
/// built-in alarm engine reads (`snapshot()`), recorded by one call at each event so the two
/// never disagree. Labels are bounded by construction: route templates (never paths), status
/// classes, rule ids, bucket and failure kinds; never ids, names or anything from a patient.
package final class Telemetry: Sendable {
    package let registry = PrometheusCollectorRegistry()
    /// Latency buckets (seconds) of every duration histogram; 0.2 s is the latency objective.
    package static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10]
    /// Requests slower than this count against the p99 objective.
    package static let latencyObjective = 0.2
    /// Database operations slower than this count as slow.
    package static let slowQuery = 0.1

    private struct RouteKey: Hashable { let method: String, route: String, statusClass: String }
    private struct RouteSeries { let count: Counter; let duration: ValueHistogram }

    private let routes = Mutex<[RouteKey: RouteSeries]>([:])
    private let labelled = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])
    private let values = Mutex<[Signal: Double]>([:])
    private let inFlight: Gauge
    private let dbDuration: ValueHistogram
    private let dbErrors: Counter
    private let dbInUse: Gauge

    package init() {
        inFlight = registry.makeGauge(descriptor: .init(metricName: "healthhub_http_requests_in_flight", unitName: "", helpText: "Requests being served"))
        dbDuration = registry.makeValueHistogram(
            descriptor: .init(metricName: "healthhub_db_query_duration", unitName: "seconds", helpText: "Database operation latency (one read or transaction)"),
            buckets: Self.latencyBuckets)
        dbErrors = registry.makeCounter(descriptor: .init(metricName: "healthhub_db_errors", unitName: "total", helpText: "Database operations that failed"))
        dbInUse = registry.makeGauge(descriptor: .init(metricName: "healthhub_db_pool_in_use", unitName: "", helpText: "Database connections leased or waited for"))
        set(.startTime, Now.date.timeIntervalSince1970)
        // Counters the alarms read start at zero, so a quiet server reads "0", not "no data".
        values.withLock { v in
            for s in [
                Signal.httpRequests, .http5xx, .httpSlow, .dbOperations, .dbErrors, .dbSlow, .wafBlocks, .rateLimited,
                .loginFailures, .tokenFailures, .inFlight, .dbInUse,
            ] { v[s] = 0 }
        }
    }

    // MARK: HTTP

    package func requestStarted() {
        inFlight.increment()
        add(.inFlight, 1)
    }

    /// One finished request: `route` is the matched template or `unmatched`.
    package func requestFinished(method: String, route: String, status: Int, seconds: Double) {
        inFlight.decrement()
        let statusClass = "\(min(max(status / 100, 1), 5))xx"
        let key = RouteKey(method: Self.knownMethods.contains(method) ? method : "OTHER", route: route, statusClass: statusClass)
        let series = routes.withLock { map in
            if let s = map[key] { return s }
            let s = RouteSeries(
                count: registry.makeCounter(
                    descriptor: .init(metricName: "healthhub_http_requests", unitName: "total", helpText: "Requests by method, route template and status class"),
                    labels: [("method", key.method), ("route", key.route), ("status_class", key.statusClass)]),
                duration: registry.makeValueHistogram(
                    descriptor: .init(metricName: "healthhub_http_request_duration", unitName: "seconds", helpText: "Request latency by route template and status class"),
                    labels: [("route", key.route), ("status_class", key.statusClass)], buckets: Self.latencyBuckets))
            map[key] = s
            return s
        }
        series.count.increment()
        series.duration.record(seconds)
        values.withLock { v in
            v[.inFlight, default: 0] -= 1
            v[.httpRequests, default: 0] += 1
            if status >= 500 { v[.http5xx, default: 0] += 1 }
            if seconds > Self.latencyObjective { v[.httpSlow, default: 0] += 1 }
        }
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    // MARK: Database

    package func databaseLeased(_ delta: Int) {
        dbInUse.increment(by: Double(delta))
        add(.dbInUse, Double(delta))
    }

    package func databaseOperation(seconds: Double, failed: Bool) {
        dbDuration.record(seconds)
        if failed { dbErrors.increment() }
        values.withLock { v in
            v[.dbOperations, default: 0] += 1
            if failed { v[.dbErrors, default: 0] += 1 }
            if seconds > Self.slowQuery { v[.dbSlow, default: 0] += 1 }
        }
    }

    // MARK: Security events

    package func wafBlocked(rule: String) {
        counter("healthhub_waf_blocks", help: "Requests blocked by the WAF, by rule", label: ("rule", rule)).increment()
        add(.wafBlocks, 1)
    }

    /// `bucket`: ip, user, client or signin.
    package func rateLimited(bucket: String) {
        counter("healthhub_rate_limit_rejections", help: "Requests refused with 429, by bucket", label: ("bucket", bucket)).increment()
        add(.rateLimited, 1)
    }

    /// `login`: wrong password or locked; `mfa`: wrong second factor; `token`: an access token
    /// presented and refused (forged, expired, wrong audience); `missing`: an API call with no
    /// token; `client`: an OAuth client failing authentication at the token endpoint.
    package enum AuthFailure: String, Sendable { case login, mfa, token, missing, client }

    package func authFailed(_ kind: AuthFailure) {
        counter(
            "healthhub_auth_failures", help: "Failed sign-ins, MFA codes, refused and missing tokens, failed client authentication",
            label: ("kind", kind.rawValue)
        ).increment()
        switch kind {
        case .login: add(.loginFailures, 1)
        case .token: add(.tokenFailures, 1)
        case .mfa, .missing, .client: break
        }
    }

    // MARK: AI engines

    private struct EngineKey: Hashable { let capability: String, engine: String, outcome: String }
    private let engineCalls = Mutex<[EngineKey: Counter]>([:])
    private let engineDurations = Mutex<[String: ValueHistogram]>([:])

    /// One call of an AI engine: `capability` (speech, translation, ocr...), `engine`
    /// (espeak-ng, apertium...), `outcome` (ok, busy, engine_timeout...); `seconds` when it ran.
    package func engineCall(capability: String, engine: String, outcome: String, seconds: Double?) {
        let key = EngineKey(capability: capability, engine: engine, outcome: outcome)
        let counter = engineCalls.withLock { map in
            if let c = map[key] { return c }
            let c = registry.makeCounter(
                descriptor: .init(metricName: "healthhub_ai_engine_calls", unitName: "total", helpText: "AI engine calls by capability, engine and outcome"),
                labels: [("capability", capability), ("engine", engine), ("outcome", outcome)])
            map[key] = c
            return c
        }
        counter.increment()
        guard let seconds else { return }
        let histogram = engineDurations.withLock { map in
            if let h = map[capability] { return h }
            let h = registry.makeValueHistogram(
                descriptor: .init(metricName: "healthhub_ai_engine_duration", unitName: "seconds", helpText: "AI engine call latency by capability"),
                labels: [("capability", capability)], buckets: Self.engineBuckets)
            map[capability] = h
            return h
        }
        histogram.record(seconds)
    }

    /// Engine latency buckets (seconds): engines take from milliseconds (speech) to a minute
    /// (a long transcription).
    static let engineBuckets: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    // MARK: Gauges set by probes

    /// Sets a gauge signal (exported as `Signal.metricName`, with its label if any). nil leaves
    /// the exported gauge as it was but removes the value the alarms see ("no data").
    package func set(_ signal: Signal, _ value: Double?) {
        values.withLock { $0[signal] = value }
        guard let value, let metric = signal.gaugeMetric else { return }
        let gauge = gauges.withLock { map in
            let key = metric.name + (metric.label.map { "{\($0.0)=\($0.1)}" } ?? "")
            if let g = map[key] { return g }
            let g = registry.makeGauge(
                descriptor: .init(metricName: metric.name, unitName: "", helpText: metric.help),
                labels: metric.label.map { [$0] } ?? [])
            map[key] = g
            return g
        }
        gauge.set(value)
    }

    /// Current values of every signal the alarms evaluate; absent = no data.
    package func snapshot() -> [Signal: Double] { values.withLock { $0 } }

    /// The Prometheus text exposition.
    package func exposition() -> [UInt8] { registry.emitToBuffer() }

    private func add(_ signal: Signal, _ amount: Double) { values.withLock { $0[signal, default: 0] += amount } }

    private func counter(_ name: String, help: String, label: (String, String)) -> Counter {
        labelled.withLock { map in
            let key = "\(name){\(label.1)}"
            if let c = map[key] { return c }
            let c = registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: [label])
            map[key] = c
            return c
        }
    }
}
