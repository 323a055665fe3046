/// What the alarm engine can read: running totals (counters, which alarms turn into increases
/// over a window) and current values (gauges). Each gauge has the Prometheus metric it is
/// exported as, so `deploy/prometheus/alerts.yml` can state the same rules in PromQL.
package enum Signal: String, Sendable, CaseIterable, Codable {
    // Counters (totals since start).
    case httpRequests, http5xx, httpSlow, dbOperations, dbErrors, dbSlow
    case wafBlocks, rateLimited, loginFailures, tokenFailures, engineFailures
    // Gauges.
    case inFlight, dbInUse, dbPoolSize, diskFreeRatio, residentMemory, startTime, restartsLastHour
    case certificateExpiry, lastBackup, auditChainOK, auditCheckpoint, engineQueueDepth
    case probeDatabase, probeStorage, probeAudit

    package var isCounter: Bool {
        switch self {
        case .httpRequests, .http5xx, .httpSlow, .dbOperations, .dbErrors, .dbSlow, .wafBlocks, .rateLimited,
            .loginFailures, .tokenFailures, .engineFailures:
            true
        default: false
        }
    }

    /// The exported gauge of a gauge signal that probes set (counters and the in-flight and
    /// pool gauges are exported by the recording calls themselves).
    var gaugeMetric: (name: String, help: String, label: (String, String)?)? {
        switch self {
        case .dbPoolSize: ("healthhub_db_pool_size", "Database connections available", nil)
        case .diskFreeRatio: ("healthhub_disk_free_ratio", "Free share of the data volume", nil)
        case .residentMemory: ("healthhub_process_resident_memory_bytes", "Resident memory of the server process", nil)
        case .startTime: ("healthhub_process_start_time_seconds", "When this process started (Unix time)", nil)
        case .certificateExpiry: ("healthhub_tls_certificate_expiry_timestamp_seconds", "When the served TLS certificate expires (Unix time)", nil)
        case .lastBackup: ("healthhub_backup_last_success_timestamp_seconds", "Last successful backup (Unix time)", nil)
        case .auditChainOK: ("healthhub_audit_chain_ok", "1 when the audit chain verified, 0 when it is broken", nil)
        case .auditCheckpoint: ("healthhub_audit_checkpoint_timestamp_seconds", "Last audit chain checkpoint (Unix time)", nil)
        case .probeDatabase: ("healthhub_probe_up", "1 when the component's probe passed", ("component", "database"))
        case .probeStorage: ("healthhub_probe_up", "1 when the component's probe passed", ("component", "storage"))
        case .probeAudit: ("healthhub_probe_up", "1 when the component's probe passed", ("component", "audit"))
        default: nil
        }
    }
}
