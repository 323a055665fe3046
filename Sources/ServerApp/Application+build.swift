import AI
import Audit
import Auth
import Events
import FHIR
import Foundation
import Gateway
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Identity
import Instrumentation
import Logging
import Mail
import Messaging
import NIOCore
import Ops
import Portal
import Scheduling
import ServiceLifecycle
import Telemetry
import UnixSignals

/// Builds the HTTP application: the gateway middleware and every feature's routes. Tests call
/// this same function with their own services.
package func buildApplication(
    services: HealthHubServices, operations: Operations, configuration: HealthHubConfiguration,
    onReady: (@Sendable (String) async -> Void)? = nil
) throws -> some ApplicationProtocol {
    try buildApplication(
        router: buildRouter(services: services, operations: operations, configuration: configuration).router,
        services: services, operations: operations, configuration: configuration, onReady: onReady)
}

/// The application around a router built by `buildRouter`.
package func buildApplication(
    router: Router<AppRequestContext>, services: HealthHubServices, operations: Operations, configuration: HealthHubConfiguration,
    onReady: (@Sendable (String) async -> Void)? = nil
) throws -> some ApplicationProtocol {
    // HTTP/1.1 with the WebSocket upgrade of the pages' live updates (`/live`, which checks the
    // session and Origin itself: it is answered before the router's middleware chain).
    let live = LiveUpdates(
        sessions: SessionAuthenticator(identity: services.identity, audit: SecurityAudit(trail: services.audit), limiter: nil), service: services.fhir,
        events: services.events)
    let http: HTTPServerBuilder = .http1WebSocketUpgrade(webSocketRouter: live.router())
    let server: HTTPServerBuilder = try operations.certificates.map { try .tls(http, tlsConfiguration: $0.serverConfiguration()) } ?? http
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
    -> (router: Router<AppRequestContext>, routes: RouteTable)
{
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    let urls = ServerURLs(fhirBaseURL: configuration.publicBaseURL)
    let telemetry = services.telemetry
    let securityAudit = SecurityAudit(trail: services.audit, telemetry: telemetry)
    // Only a benchmark build (-DHEALTHHUB_BENCHMARK) has the bypass that measures the gateway's cost.
    #if HEALTHHUB_BENCHMARK
    let bypass: GatewayDoors? =
        configuration.benchmarkWithoutGateway
        ? GatewayDoors(
            authentication: BenchmarkCallerMiddleware(), sessions: SessionAuthenticator(identity: services.identity, audit: securityAudit, limiter: nil), bodyInspection: nil)
        : nil
    if bypass != nil { router.add(middleware: PathGuardMiddleware()) }
    #else
    let bypass: GatewayDoors? = nil
    #endif
    let gateway = bypass ?? addGateway(to: router, services: services, operations: operations, configuration: configuration, urls: urls, audit: securityAudit)
    // Deny by default: a route is public only when registered through `routes.publicRoutes`;
    // everything registered through `routes.identified` passes the token authentication first,
    // and every page registered through `routes.signedIn` the web-session authentication.
    let routes = RouteTable(
        router: router, authentication: gateway.authentication, sessionAuthentication: gateway.sessions, bodyInspection: gateway.bodyInspection)
    operations.register(on: routes, audit: securityAudit)
    OAuthController(identity: services.identity, care: services.fhir, urls: urls, audit: securityAudit).register(on: routes)
    LoginController(identity: services.identity, care: services.fhir, urls: urls, audit: securityAudit).register(on: routes)
    let accountMail = AccountMail(client: try? configuration.mail.client(), from: configuration.mail.from)
    AccountController(identity: services.identity, mail: accountMail, urls: urls, audit: securityAudit).register(on: routes)
    let scheduler = Scheduler(configuration: services.scheduling, database: services.database)
    let scheduling = SchedulingOperations.all(scheduler)
    FHIRController(service: services.fhir, publicBaseURL: configuration.publicBaseURL, operations: scheduling).register(on: routes)
    LandingController().register(on: routes)
    let pages = PageKit(service: services.fhir, events: services.events, timeZone: services.scheduling.timeZone, publicBaseURL: configuration.publicBaseURL)
    PatientPortalController(kit: pages, scheduling: services.scheduling, operations: scheduling + [EverythingOperation()], messages: services.messages)
        .register(on: routes)
    ConsoleController(kit: pages, operations: scheduling).register(on: routes)
    MessagesController(kit: pages, center: services.messages, attachmentLimit: configuration.messaging.attachmentBytes, ai: services.ai).register(on: routes)
    AdminController(kit: pages, identity: services.identity, mail: accountMail, urls: urls).register(on: routes)
    ProfileController(kit: pages, identity: services.identity).register(on: routes)
    ProxyController(kit: pages, identity: services.identity, mail: accountMail, urls: urls).register(on: routes)
    AlarmsPageController(kit: pages, coordinator: operations.coordinator, audit: securityAudit).register(on: routes)
    AuditViewerController(kit: pages).register(on: routes)
    AIController(services: services.ai, audit: securityAudit).register(on: routes)
    DocumentsController(kit: pages, ai: services.ai).register(on: routes)
    StaticAssets.bundled.register(on: routes)
    return (router, routes)
}

/// What the gateway hands the route table: the authentication of the API and of the pages, and
/// the body inspection every route's body goes through.
struct GatewayDoors {
    let authentication: any MiddlewareProtocol<Request, Response, AppRequestContext>
    let sessions: SessionAuthenticator
    let bodyInspection: WAFBodyMiddleware?
}

/// The gateway, in one place, outermost first.
func addGateway(
    to router: Router<AppRequestContext>, services: HealthHubServices, operations: Operations, configuration: HealthHubConfiguration,
    urls: ServerURLs, audit: SecurityAudit
) -> GatewayDoors {
    let telemetry = services.telemetry
    // Security headers come before the path guard and authentication (rather than after them)
    // so that refusals of the layers after them carry the headers too. The path guard refuses every path with more than one spelling
    // before the WAF, the rate limiter or the router's handlers look at it.
    router.add(middleware: RequestIDMiddleware())
    if let tracer = operations.tracer { router.add(middleware: TracingMiddleware(tracer: tracer)) }
    router.add(middleware: AccessLogMiddleware(telemetry: telemetry))
    let https = configuration.publicBaseURL?.hasPrefix("https://") == true || operations.certificates != nil
    router.add(middleware: SecurityHeadersMiddleware(hsts: https))
    router.add(middleware: PathGuardMiddleware())
    if configuration.publicBaseURL == nil { router.add(middleware: HostGuardMiddleware(allowedHosts: configuration.allowedHosts)) }
    router.add(middleware: CORSMiddleware(origins: configuration.gateway.corsOrigins))
    router.add(middleware: MethodMiddleware())
    router.add(middleware: WAFMiddleware(runtime: operations.waf, trustedProxies: configuration.gateway.trustedProxies, telemetry: telemetry))
    let limiter = RateLimiter(configuration: configuration.gateway.rateLimits, telemetry: telemetry)
    router.add(middleware: RateLimitMiddleware(limiter: limiter))
    // Innermost of the chain: framework errors (no such route, ...) in the shape of their
    // surface, before any layer above turns them into plain responses.
    router.add(middleware: SurfaceErrorMiddleware())
    return GatewayDoors(
        authentication: BearerAuthenticator(tokens: services.identity.tokens, urls: urls, audit: audit, limiter: limiter),
        sessions: SessionAuthenticator(identity: services.identity, audit: audit, limiter: limiter),
        bodyInspection: WAFBodyMiddleware(runtime: operations.waf, telemetry: telemetry))
}

/// Runs the server and its background services (database statistics, audit checkpoints,
/// alarms and probes) until SIGINT/SIGTERM; in-flight requests finish
/// before it returns.
package func runServer(
    services: HealthHubServices, configuration: HealthHubConfiguration,
    onReady: @escaping @Sendable (String) async -> Void
) async throws {
    let operations = try await Operations.open(services: services, configuration: configuration)
    // Once per process: library and database spans go to the same tracer as the request spans.
    if let tracer = operations.tracer { InstrumentationSystem.bootstrap(tracer) }
    let app = try buildApplication(services: services, operations: operations, configuration: configuration, onReady: onReady)
    let group = ServiceGroup(
        configuration: .init(
            services: operations.backgroundServices() + [.init(service: jobRunner(services, configuration)), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: services.logger))
    try await group.run()
}

/// The durable jobs this instance runs (each job still runs on one instance at a time).
package func jobRunner(_ services: HealthHubServices, _ configuration: HealthHubConfiguration) -> JobRunner {
    let (notifier, zone) = (configuration.mail.notifier(), services.scheduling.timeZone)
    let accounts = services.identity.accounts
    return JobRunner(
        queue: services.jobs,
        handlers: [
            HoldExpiry(service: services.fhir),
            AppointmentReminder(service: services.fhir, log: services.events, notifier: notifier, timeZone: zone),
            AppointmentNotice(service: services.fhir, notifier: notifier, timeZone: zone, accountEmail: { try await accounts.find(practitionerID: $0)?.email }),
            MessageNotification(service: services.fhir, notifier: notifier),
        ],
        instance: configuration.ops.instance ?? "\(configuration.host):\(configuration.port)", logger: services.logger)
}

extension Operations {
    /// The operations surface of these services under this configuration.
    package static func open(services: HealthHubServices, configuration: HealthHubConfiguration) async throws -> Operations {
        try await open(
            database: services.database, trail: services.audit, migrations: HealthHubServices.migrations, telemetry: services.telemetry,
            logger: services.logger, configuration: configuration.ops, placement: configuration.placement, gateway: configuration.gateway,
            engines: { [ai = services.ai] in await ai.status() })
    }
}
