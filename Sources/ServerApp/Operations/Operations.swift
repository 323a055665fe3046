import Alarms
import AsyncHTTPClient
import Foundation
import Gateway
import Logging
import Traces

/// The operational side of a running server: the alarm coordinator (engine, store, silences),
/// its notification channels, the uptime tallies and the probes. Opened once per process.
package struct Operations: Sendable {
    package let coordinator: AlarmCoordinator
    package let uptime: UptimeStore
    package let probes: SystemProbes
    package let notifier: AlarmNotifier
    /// The WAF in force, reloadable (SIGHUP, admin API).
    package let waf: WAFRuntime
    /// Set when an OTLP endpoint is configured: the tracer of the request spans and its exporter.
    package let tracer: OTLPTracer?
    package let traceExporter: OTLPExporter?
    /// Set when HealthHub terminates TLS itself.
    package let certificates: TLSCertificates?

    package static func open(services: HealthHubServices, configuration: HealthHubConfiguration) async throws -> Operations {
        let instance = configuration.instanceName
        let waf = try WAFRuntime(base: configuration.waf, file: configuration.wafFile)
        let certificates = try configuration.tls.map { try TLSCertificates(certificate: $0.certificate, key: $0.key, telemetry: services.telemetry) }
        let exporter = configuration.otlpEndpoint.map { OTLPExporter(endpoint: $0, instance: instance, logger: services.logger) }
        if waf.waf.configuration.geo.enabled && waf.geo == nil && configuration.trustedProxies.isEmpty
            && !HostGuardMiddleware.isLoopback(configuration.host) {
            services.logger.warning("geo allow-list is on but has no country source: set HEALTHHUB_GEO_DATABASE or trusted proxies that send the country header")
        }
        let store = AlarmStore(database: services.database, instance: instance)
        let coordinator = try await AlarmCoordinator.open(store: store, now: Date().timeIntervalSince1970)
        var channels: [any AlarmChannel] = [LogChannel(logger: services.logger)]
        if let url = configuration.alarms.webhookURL { channels.append(WebhookChannel(url: url)) }
        if let smtp = configuration.alarms.smtpURL {
            channels.append(try SMTPChannel(url: smtp, from: configuration.alarms.emailFrom, to: configuration.alarms.emailTo))
        }
        return Operations(coordinator: coordinator, uptime: UptimeStore(database: services.database, instance: instance),
                          probes: SystemProbes(services: services, configuration: configuration),
                          notifier: AlarmNotifier(channels: channels, logger: services.logger), waf: waf,
                          tracer: exporter.map(OTLPTracer.init(exporter:)), traceExporter: exporter, certificates: certificates)
    }
}

extension HealthHubConfiguration {
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

    /// This process's name in alarm states and history: `HEALTHHUB_INSTANCE`, else host:port.
    package var instanceName: String {
        instance ?? "\(ProcessInfo.processInfo.hostName):\(port)"
    }
}
