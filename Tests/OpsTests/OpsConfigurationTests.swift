import Kernel
import Ops
import Testing

@Suite struct OpsConfigurationTests {
    func read(_ environment: [String: String]) throws -> (OpsConfiguration, [String]) {
        var c = OpsConfiguration()
        let problems = c.read(try Settings(configPath: nil, environment: environment))
        return (c, problems)
    }

    @Test func readsMetricsAlarmsTracingAndTLS() throws {
        let (c, problems) = try read([
            "HEALTHHUB_METRICS_TOKEN": "a-long-scrape-token", "HEALTHHUB_INSTANCE": "node-1", "HEALTHHUB_ALARM_INTERVAL": "30",
            "HEALTHHUB_ALARM_WEBHOOK": "https://hooks.example.org/x", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "HEALTHHUB_TLS_CERT": "/etc/hh/cert.pem", "HEALTHHUB_TLS_KEY": "/etc/hh/key.pem",
        ])
        #expect(problems == [])
        #expect(c.metricsToken == "a-long-scrape-token" && c.instance == "node-1" && c.alarmInterval == .seconds(30))
        #expect(c.alarms.webhookURL == "https://hooks.example.org/x" && c.otlpEndpoint == "http://collector:4318")
        #expect(c.tls?.certificate == "/etc/hh/cert.pem" && c.tls?.key == "/etc/hh/key.pem")
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let (_, problems) = try read([
            "HEALTHHUB_METRICS_TOKEN": "short", "HEALTHHUB_ALARM_INTERVAL": "0", "HEALTHHUB_ALARM_SMTP": "smtp://relay:25",
            "HEALTHHUB_TLS_CERT": "/etc/hh/cert.pem",
        ])
        #expect(
            problems == [
                "HEALTHHUB_METRICS_TOKEN must be at least 16 characters", "HEALTHHUB_ALARM_INTERVAL must be 1-300 seconds",
                "HEALTHHUB_ALARM_SMTP needs HEALTHHUB_ALARM_EMAIL_TO (comma-separated addresses)",
                "HEALTHHUB_TLS_CERT and HEALTHHUB_TLS_KEY go together (PEM certificate chain and private key)",
            ])
    }
}
