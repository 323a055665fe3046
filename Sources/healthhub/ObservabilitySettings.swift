import Foundation
import Ops
import ServerApp

/// Reads the metrics and alarm settings: `HEALTHHUB_METRICS_TOKEN` (bearer token `/metrics`
/// requires), `HEALTHHUB_INSTANCE` (name of this instance in alarm states; default host:port),
/// `HEALTHHUB_ALARM_WEBHOOK` (URL for JSON notifications), `HEALTHHUB_ALARM_SMTP`
/// (`smtp://relay:25` or `smtps://user:password@host:465`), `HEALTHHUB_ALARM_EMAIL_FROM` and
/// `HEALTHHUB_ALARM_EMAIL_TO` (comma-separated), `HEALTHHUB_ALARM_INTERVAL` (seconds between
/// evaluations, default 15), `HEALTHHUB_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP
/// collector for traces). Returns the problems found.
enum ObservabilitySettings {
    static func apply(_ settings: Settings, to config: inout HealthHubConfiguration) -> [String] {
        var problems: [String] = []
        config.metricsToken = settings.value(nil, "METRICS_TOKEN")
        if let token = config.metricsToken, token.count < 16 { problems.append("HEALTHHUB_METRICS_TOKEN must be at least 16 characters") }
        config.instance = settings.value(nil, "INSTANCE")
        // The OpenTelemetry variable is honoured too, so a collector set up for other services works as is.
        if let endpoint = settings.value(nil, "OTLP_ENDPOINT") ?? settings.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] {
            if let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
                config.otlpEndpoint = endpoint
            } else {
                problems.append("HEALTHHUB_OTLP_ENDPOINT must be an http(s) URL such as http://collector:4318")
            }
        }
        if let text = settings.value(nil, "ALARM_INTERVAL") {
            if let seconds = Int(text), (1...300).contains(seconds) {
                config.alarmInterval = .seconds(seconds)
            } else {
                problems.append("HEALTHHUB_ALARM_INTERVAL must be 1-300 seconds")
            }
        }
        if let hook = settings.value(nil, "ALARM_WEBHOOK") {
            if let url = URL(string: hook), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
                config.alarms.webhookURL = hook
            } else {
                problems.append("HEALTHHUB_ALARM_WEBHOOK must be an http(s) URL")
            }
        }
        if let smtp = settings.value(nil, "ALARM_SMTP") {
            config.alarms.smtpURL = smtp
            config.alarms.emailFrom = settings.value(nil, "ALARM_EMAIL_FROM") ?? config.alarms.emailFrom
            config.alarms.emailTo = (settings.value(nil, "ALARM_EMAIL_TO") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if config.alarms.emailTo.isEmpty { problems.append("HEALTHHUB_ALARM_SMTP needs HEALTHHUB_ALARM_EMAIL_TO (comma-separated addresses)") }
        }
        return problems
    }
}
