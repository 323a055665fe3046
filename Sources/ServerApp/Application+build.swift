import Audit
import Auth
import FHIR
import Foundation
import Gateway
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Identity
import Logging
import NIOCore
import ServiceLifecycle
import Telemetry
import UnixSignals
import Instrumentation

/// Builds the HTTP application: the gateway middleware and every feature's routes. Tests call
/// this same function with their own services.
package func buildApplication(services: HealthHubServices, operations: Operations, configuration: HealthHubConfiguration,
                              onReady: (@Sendable (String) async -> Void)? = nil) throws -> some ApplicationProtocol {
    let router = buildRouter(services: services, operations: operations, configuration: configuration)
    let server: HTTPServerBuilder = try operations.certificates.map { try .tls(.http1(), tlsConfiguration: $0.serverConfiguration()) } ?? .http1()
    let scheme = operations.certificates == nil ? "http" : "https"
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "HealthHub"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
            await onReady?("\(scheme)://\(host):\(port)/")
        },
        logger: services.logger)
}

/// The router on its own, for in-process tests.
package func buildRouter(services: HealthHubServices, operations: Operations, configuration: HealthHubConfiguration) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let urls = ServerURLs(fhirBaseURL: configuration.publicBaseURL)
    let telemetry = services.telemetry
    let securityAudit = SecurityAudit(trail: services.audit, telemetry: telemetry)
    if configuration.benchmarkWithoutGateway {
        router.add(middleware: BenchmarkCallerMiddleware())
    } else {
        // The gateway, in one place, outermost first. Security headers come before authentication
        // (rather than after it) so that refusals of the layers after them carry the headers too.
        router.add(middleware: RequestIDMiddleware())
        if let tracer = operations.tracer { router.add(middleware: TracingMiddleware(tracer: tracer)) }
        router.add(middleware: AccessLogMiddleware(telemetry: telemetry))
        let https = configuration.publicBaseURL?.hasPrefix("https://") == true || operations.certificates != nil
        router.add(middleware: SecurityHeadersMiddleware(hsts: https))
        router.add(middleware: CORSMiddleware(origins: configuration.corsOrigins))
        router.add(middleware: WAFMiddleware(runtime: operations.waf, trustedProxies: configuration.trustedProxies, telemetry: telemetry))
        let limiter = RateLimiter(configuration: configuration.rateLimits, telemetry: telemetry)
        router.add(middleware: RateLimitMiddleware(limiter: limiter))
        router.add(middleware: BearerAuthenticator(tokens: services.identity.tokens, urls: urls, audit: securityAudit, limiter: limiter))
    }

    router.get("health") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
    }
    router.get("ready") { _, _ in try await Readiness(services: services, configuration: configuration).response() }
    MetricsEndpoint(telemetry: telemetry, token: configuration.metricsToken).register(on: router)
    OperationsController(operations: operations, telemetry: telemetry, audit: securityAudit).register(on: router)
    WAFAdminController(runtime: operations.waf, audit: securityAudit).register(on: router)
    OAuthController(identity: services.identity, fhir: services.fhir, urls: urls, audit: securityAudit).register(on: router)
    LoginController(identity: services.identity, fhir: services.fhir, urls: urls, audit: securityAudit).register(on: router)
    FHIRController(service: services.fhir, publicBaseURL: configuration.publicBaseURL).register(on: router)
    return router
}

/// Runs the server and its background services (database statistics, audit checkpoints,
/// alarms and probes) until SIGINT/SIGTERM; in-flight requests finish
/// before it returns.
package func runServer(services: HealthHubServices, configuration: HealthHubConfiguration,
                       onReady: @escaping @Sendable (String) async -> Void) async throws {
    let operations = try await Operations.open(services: services, configuration: configuration)
    // Once per process: library and database spans go to the same tracer as the request spans.
    if let tracer = operations.tracer { InstrumentationSystem.bootstrap(tracer) }
    let app = try buildApplication(services: services, operations: operations, configuration: configuration, onReady: onReady)
    var background: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if let exporter = operations.traceExporter { background.append(.init(service: exporter)) }
    let watcher = operations.certificates.map { TLSCertificateWatcher(certificates: $0, interval: .seconds(60), logger: services.logger) }
    if let watcher { background.append(.init(service: watcher)) }
    let group = ServiceGroup(configuration: .init(
        services: background + [
            .init(service: app),
            .init(service: DatabaseMaintenance(database: services.database, logger: services.logger)),
            .init(service: AuditCheckpointer(database: services.database, file: AuditCheckpointFile(path: configuration.resolvedAuditCheckpointFile),
                                             logger: services.logger, telemetry: services.telemetry)),
            .init(service: HangupReloader(waf: operations.waf, certificates: watcher, logger: services.logger)),
            .init(service: AlarmService(coordinator: operations.coordinator, uptime: operations.uptime, probes: operations.probes,
                                        notifier: operations.notifier, telemetry: services.telemetry,
                                        interval: configuration.alarmInterval, logger: services.logger)),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: services.logger))
    try await group.run()
}
