import Foundation
import Kernel

/// The operations surface's part of the configuration, read and checked here: metrics, alarms,
/// tracing and TLS.
package struct OpsConfiguration: Sendable {
    /// This process's name in alarm states and history (`HEALTHHUB_INSTANCE`); nil: host:port.
    package var instance: String?
    /// PEM certificate (chain) and key to serve HTTPS with; plain HTTP when nil.
    package var tls: (certificate: String, key: String)?
    /// OTLP/HTTP collector for traces; no tracing when nil.
    package var otlpEndpoint: String?
    /// Alarm notification channels (the log is always one).
    package var alarms = AlarmChannels()
    /// How often the alarm rules are evaluated.
    package var alarmInterval: Duration = .seconds(15)
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    package var metricsToken: String?

    package init() {}

    /// Where alarm notifications go besides the log.
    package struct AlarmChannels: Sendable, Equatable {
        /// JSON POSTed here when an alarm fires or resolves.
        package var webhookURL: String?
        /// `smtp://relay:25` or `smtps://user:password@host:465`.
        package var smtpURL: String?
        package var emailFrom = "healthhub@localhost"
        package var emailTo: [String] = []
        package init() {}
    }

    /// Reads the metrics and alarm settings: `HEALTHHUB_METRICS_TOKEN` (bearer token `/metrics`
    /// requires), `HEALTHHUB_INSTANCE` (name of this instance in alarm states; default host:port),
    /// `HEALTHHUB_ALARM_WEBHOOK` (URL for JSON notifications), `HEALTHHUB_ALARM_SMTP`
    /// (`smtp://relay:25` or `smtps://user:password@host:465`), `HEALTHHUB_ALARM_EMAIL_FROM` and
    /// `HEALTHHUB_ALARM_EMAIL_TO` (comma-separated), `HEALTHHUB_ALARM_INTERVAL` (seconds between
    /// evaluations, default 15), `HEALTHHUB_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP
    /// collector for traces). Returns the problems found.
    /// `HEALTHHUB_TLS_CERT` and `HEALTHHUB_TLS_KEY` (PEM) go together.
    package mutating func read(_ settings: Settings) -> [String] {
        var problems: [String] = []
        metricsToken = settings.value(nil, "METRICS_TOKEN")
        if let token = metricsToken, token.count < 16 { problems.append("HEALTHHUB_METRICS_TOKEN must be at least 16 characters") }
        instance = settings.value(nil, "INSTANCE")
        // The OpenTelemetry variable is honoured too, so a collector set up for other services works as is.
        if let endpoint = settings.value(nil, "OTLP_ENDPOINT") ?? settings.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] {
            if let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
                otlpEndpoint = endpoint
            } else {
                problems.append("HEALTHHUB_OTLP_ENDPOINT must be an http(s) URL such as http://collector:4318")
            }
        }
        if let text = settings.value(nil, "ALARM_INTERVAL") {
            if let seconds = Int(text), (1...300).contains(seconds) { alarmInterval = .seconds(seconds) } else { problems.append("HEALTHHUB_ALARM_INTERVAL must be 1-300 seconds") }
        }
        if let hook = settings.value(nil, "ALARM_WEBHOOK") {
            if let url = URL(string: hook), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
                alarms.webhookURL = hook
            } else {
                problems.append("HEALTHHUB_ALARM_WEBHOOK must be an http(s) URL")
            }
        }
        if let smtp = settings.value(nil, "ALARM_SMTP") {
            alarms.smtpURL = smtp
            alarms.emailFrom = settings.value(nil, "ALARM_EMAIL_FROM") ?? alarms.emailFrom
            alarms.emailTo = (settings.value(nil, "ALARM_EMAIL_TO") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if alarms.emailTo.isEmpty { problems.append("HEALTHHUB_ALARM_SMTP needs HEALTHHUB_ALARM_EMAIL_TO (comma-separated addresses)") }
        }
        switch (settings.value(nil, "TLS_CERT"), settings.value(nil, "TLS_KEY")) {
        case (nil, nil): break
        case (let cert?, let key?): tls = (cert, key)
        default: problems.append("HEALTHHUB_TLS_CERT and HEALTHHUB_TLS_KEY go together (PEM certificate chain and private key)")
        }
        return problems
    }
}

/// Where this instance runs and keeps its files, as the composition root resolved them.
package struct OpsPlacement: Sendable {
    /// The name in alarm states and history.
    package var instance: String
    /// The address the server listens on (off loopback the geo rules need a country source).
    package var host: String
    /// Where this instance keeps data on disk (the storage probe and readiness watch its volume).
    package var dataPath: String
    /// The append-only file of audit chain heads; none: checkpoints are off.
    package var auditCheckpointFile: String?

    package init(instance: String, host: String, dataPath: String, auditCheckpointFile: String?) {
        self.instance = instance
        self.host = host
        self.dataPath = dataPath
        self.auditCheckpointFile = auditCheckpointFile
    }
}
