import Alarms
import Audit
import Foundation
import Gateway
import Hummingbird
import Kernel
import Logging
import NIOCore
import ServiceLifecycle
import Storage
import Telemetry
import Traces

/// The operational side of a running server: the alarm coordinator (engine, store, silences),
/// its notification channels, the uptime tallies, the probes, the WAF in force, tracing and TLS.
/// Opened once per process; it registers the operations routes and runs the background services.
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
    let readiness: Readiness
    let database: any Database
    let telemetry: Telemetry
    let logger: Logger
    let configuration: OpsConfiguration
    let placement: OpsPlacement

    /// `migrations`: every migration of the running build (readiness reports pending ones);
    /// `gateway`: the WAF settings the reloadable WAF starts from; `engines`: the AI engines' lines
    /// of `/ready`.
    package static func open(
        database: any Database, trail: AuditTrail, migrations: MigrationRunner, telemetry: Telemetry, logger: Logger,
        configuration: OpsConfiguration, placement: OpsPlacement, gateway: GatewayConfiguration,
        engines: @escaping @Sendable () async -> [(capability: String, detail: String)] = { [] }
    ) async throws -> Operations {
        let waf = try WAFRuntime(base: gateway.waf, file: gateway.wafFile)
        let certificates = try configuration.tls.map { try TLSCertificates(certificate: $0.certificate, key: $0.key, telemetry: telemetry) }
        let exporter = configuration.otlpEndpoint.map { OTLPExporter(endpoint: $0, instance: placement.instance, logger: logger) }
        if waf.waf.configuration.geo.enabled && waf.geo == nil && gateway.trustedProxies.isEmpty
            && !HostGuardMiddleware.isLoopback(placement.host)
        {
            logger.warning("geo allow-list is on but has no country source: set HEALTHHUB_GEO_DATABASE or trusted proxies that send the country header")
        }
        let store = AlarmStore(database: database, instance: placement.instance)
        let coordinator = try await AlarmCoordinator.open(store: store, now: Now.date.timeIntervalSince1970)
        var channels: [any AlarmChannel] = [LogChannel(logger: logger)]
        if let url = configuration.alarms.webhookURL { channels.append(WebhookChannel(url: url)) }
        if let smtp = configuration.alarms.smtpURL {
            channels.append(try SMTPChannel(url: smtp, from: configuration.alarms.emailFrom, to: configuration.alarms.emailTo))
        }
        let probes = SystemProbes(
            database: database, trail: trail, telemetry: telemetry, dataPath: placement.dataPath,
            checkpointFile: placement.auditCheckpointFile, logger: logger)
        return Operations(
            coordinator: coordinator, uptime: UptimeStore(database: database, instance: placement.instance), probes: probes,
            notifier: AlarmNotifier(channels: channels, logger: logger), waf: waf,
            tracer: exporter.map(OTLPTracer.init(exporter:)), traceExporter: exporter, certificates: certificates,
            readiness: Readiness(database: database, migrations: migrations, dataPath: placement.dataPath, engines: engines),
            database: database, telemetry: telemetry, logger: logger, configuration: configuration, placement: placement)
    }

    /// The operations routes: `/health`, `/ready`, `/metrics`, the status page, the alarms API
    /// and the WAF admin API.
    package func register(on routes: RouteTable, audit: SecurityAudit) {
        routes.publicRoutes.get("health") { _, _ in Response.json(["status": "ok"]) }
        routes.publicRoutes.get("ready") { [readiness] _, _ in await readiness.response() }
        MetricsEndpoint(telemetry: telemetry, token: configuration.metricsToken).register(on: routes)
        OperationsController(operations: self, telemetry: telemetry, audit: audit).register(on: routes)
        WAFAdminController(runtime: waf, audit: audit).register(on: routes)
    }

    /// The background services of a running server: trace export, certificate reloads, audit
    /// checkpoints, database maintenance, SIGHUP reloads and the alarm loop.
    package func backgroundServices() -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let traceExporter { services.append(.init(service: traceExporter)) }
        let watcher = certificates.map { TLSCertificateWatcher(certificates: $0, interval: .seconds(60), logger: logger) }
        if let watcher { services.append(.init(service: watcher)) }
        if let path = placement.auditCheckpointFile {
            services.append(.init(service: AuditCheckpointer(database: database, file: AuditCheckpointFile(path: path), logger: logger, telemetry: telemetry)))
        } else {
            logger.warning("audit checkpoints are off: set HEALTHHUB_AUDIT_CHECKPOINT_FILE to an absolute path on storage apart from the database")
        }
        services.append(.init(service: DatabaseMaintenance(database: database, logger: logger)))
        services.append(.init(service: HangupReloader(waf: waf, certificates: watcher, logger: logger)))
        services.append(
            .init(
                service: AlarmService(
                    coordinator: coordinator, uptime: uptime, probes: probes, notifier: notifier, telemetry: telemetry,
                    interval: configuration.alarmInterval, logger: logger)))
        return services
    }
}
