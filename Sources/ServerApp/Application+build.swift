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
    try buildApplication(router: buildRouter(services: services, operations: operations, configuration: configuration).router,
                         services: services, operations: operations, configuration: configuration, onReady: onReady)
}

/// The application around a router built by `buildRouter`.
package func buildApplication(router: Router<AppRequestContext>, services: HealthHubServices, operations: Operations, configuration: HealthHubConfiguration,
                              onReady: (@Sendable (String) async -> Void)? = nil) throws -> some ApplicationProtocol {
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

/// The router and the table of its routes (which are public, which need an identity), for the
/// application and for the tests that walk every route.
package func buildRouter(services: HealthHubServices, operations: Operations, configuration: HealthHubConfiguration)
    -> (router: Router<AppRequestContext>, routes: RouteTable) {
    let router = Router(context: AppRequestContext.self)
    let urls = ServerURLs(fhirBaseURL: configuration.publicBaseURL)
    let telemetry = services.telemetry
    let securityAudit = SecurityAudit(trail: services.audit, telemetry: telemetry)
    let authentication: any MiddlewareProtocol<Request, Response, AppRequestContext>
    var bodyInspection: WAFBodyMiddleware?
    if configuration.benchmarkWithoutGateway {
        router.add(middleware: PathGuardMiddleware())
        authentication = BenchmarkCallerMiddleware()
    } else {
        // The gateway, in one place, outermost first. Security headers come before the path guard
        // and authentication (rather than after them) so that refusals of the layers after them
        // carry the headers too. The path guard refuses every path with more than one spelling
        // before the WAF, the rate limiter or the router's handlers look at it.
        router.add(middleware: RequestIDMiddleware())
        if let tracer = operations.tracer { router.add(middleware: TracingMiddleware(tracer: tracer)) }
        router.add(middleware: AccessLogMiddleware(telemetry: telemetry))
        let https = configuration.publicBaseURL?.hasPrefix("https://") == true || operations.certificates != nil
        router.add(middleware: SecurityHeadersMiddleware(hsts: https))
        router.add(middleware: PathGuardMiddleware())
        if configuration.publicBaseURL == nil { router.add(middleware: HostGuardMiddleware(allowedHosts: configuration.allowedHosts)) }
        router.add(middleware: CORSMiddleware(origins: configuration.corsOrigins))
        router.add(middleware: WAFMiddleware(runtime: operations.waf, trustedProxies: configuration.trustedProxies, telemetry: telemetry))
        let limiter = RateLimiter(configuration: configuration.rateLimits, telemetry: telemetry)
        router.add(middleware: RateLimitMiddleware(limiter: limiter))
        // Innermost of the chain: framework errors (no such route, ...) in the shape of their
        // surface, before any layer above turns them into plain responses.
        router.add(middleware: SurfaceErrorMiddleware())
        authentication = BearerAuthenticator(tokens: services.identity.tokens, urls: urls, audit: securityAudit, limiter: limiter)
        bodyInspection = WAFBodyMiddleware(runtime: operations.waf, telemetry: telemetry)
    }
    // Deny by default: a route is public only when registered through `routes.publicRoutes`;
    // everything registered through `routes.identified` passes `authentication` first.
    let routes = RouteTable(router: router, authentication: authentication, bodyInspection: bodyInspection)
    routes.publicRoutes.get("health") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
    }
    routes.publicRoutes.get("ready") { _, _ in try await Readiness(services: services, configuration: configuration).response() }
    MetricsEndpoint(telemetry: telemetry, token: configuration.metricsToken).register(on: routes)
    OperationsController(operations: operations, telemetry: telemetry, audit: securityAudit).register(on: routes)
    WAFAdminController(runtime: operations.waf, audit: securityAudit).register(on: routes)
    OAuthController(identity: services.identity, care: services.fhir, urls: urls, audit: securityAudit).register(on: routes)
    LoginController(identity: services.identity, care: services.fhir, urls: urls, audit: securityAudit).register(on: routes)
    FHIRController(service: services.fhir, publicBaseURL: configuration.publicBaseURL).register(on: routes)
    return (router, routes)
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
    if let path = configuration.resolvedAuditCheckpointFile {
        background.append(.init(service: AuditCheckpointer(database: services.database, file: AuditCheckpointFile(path: path),
                                                           logger: services.logger, telemetry: services.telemetry)))
    } else {
        services.logger.warning("audit checkpoints are off: set HEALTHHUB_AUDIT_CHECKPOINT_FILE to an absolute path on storage apart from the database")
    }
    let group = ServiceGroup(configuration: .init(
        services: background + [
            .init(service: app),
            .init(service: DatabaseMaintenance(database: services.database, logger: services.logger)),
            .init(service: HangupReloader(waf: operations.waf, certificates: watcher, logger: services.logger)),
            .init(service: AlarmService(coordinator: operations.coordinator, uptime: operations.uptime, probes: operations.probes,
                                        notifier: operations.notifier, telemetry: services.telemetry,
                                        interval: configuration.alarmInterval, logger: services.logger)),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: services.logger))
    try await group.run()
}
