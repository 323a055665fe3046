import AI
import ArgumentParser
import Foundation
import Gateway
import Hummingbird
import Kernel
import Logging
import Mail
import Messaging
import Ops
import Scheduling
import ServerApp
import Storage

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HealthHub server (migrates the database first).")

    @OptionGroup var common: DatabaseOptions

    @Option(help: "Address to listen on (env HEALTHHUB_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (env HEALTHHUB_PORT; default 8080).")
    var port: Int?

    @Option(help: "Public base URL of the FHIR API when behind a proxy, e.g. https://fhir.example.org/fhir (env HEALTHHUB_PUBLIC_BASE_URL).")
    var publicBaseURL: String?

    @Flag(help: "Do not run pending migrations; refuse to start if any are pending.")
    var noMigrate = false

    @Option(
        help:
            "Rate limits: on or off (env HEALTHHUB_RATE_LIMITS; default on). Budgets are CAPACITY/PER_SECOND token buckets: HEALTHHUB_RATE_LIMIT_IP (3000/1000), _USER (1500/500), _CLIENT (3000/1000), _SIGNIN (60/0.5); costs: HEALTHHUB_RATE_LIMIT_COSTS (read=1,search=10,create=10,write=10,history=50,export=50)."
    )
    var rateLimits: String?

    func run() async throws {
        let settings = try common.settings()
        var config = try common.configuration(settings)
        var problems: [String] = []
        config.host = settings.value(host, "HOST") ?? config.host
        if let text = settings.value(port.map(String.init), "PORT") {
            if let p = Int(text), (0...65535).contains(p) { config.port = p } else { problems.append("port must be 0-65535") }
        }
        config.publicBaseURL = settings.value(publicBaseURL, "PUBLIC_BASE_URL")
        if let base = config.publicBaseURL, URL(string: base)?.scheme == nil { problems.append("public base URL must be absolute (https://host/fhir)") }
        config.allowedHosts = (settings.value(nil, "ALLOWED_HOSTS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if config.publicBaseURL == nil, config.allowedHosts.isEmpty, !HostGuardMiddleware.isLoopback(config.host) {
            problems.append(
                "listening on \(config.host) needs --public-base-url (HEALTHHUB_PUBLIC_BASE_URL) or HEALTHHUB_ALLOWED_HOSTS: without either the token issuer would follow the Host header"
            )
        }
        config.runMigrations = !(noMigrate || settings.value(nil, "NO_MIGRATE") == "1")
        problems += config.gateway.read(settings, rateLimitsFlag: rateLimits)
        problems += config.ops.read(settings)
        problems += config.scheduling.read(settings)
        problems += config.mail.read(settings)
        problems += config.messaging.read(settings)
        problems += config.ai.read(settings)
        if settings.value(nil, "BENCHMARK_NO_GATEWAY") == "1" {
            #if HEALTHHUB_BENCHMARK
            // Turns authentication off: only ever for bench/run on this machine.
            if HostGuardMiddleware.isLoopback(config.host) && config.gateway.trustedProxies.isEmpty {
                config.benchmarkWithoutGateway = true
            } else {
                problems.append("HEALTHHUB_BENCHMARK_NO_GATEWAY is for benchmarks on loopback only (--host 127.0.0.1, no trusted proxies)")
            }
            #else
            problems.append("HEALTHHUB_BENCHMARK_NO_GATEWAY needs a benchmark build (bench/build-benchmark); this build always runs the gateway")
            #endif
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }

        let logger = Logs.bootstrap(config)
        logger.info("starting", metadata: ["database": .string(config.database.description)])
        #if HEALTHHUB_BENCHMARK
        if config.benchmarkWithoutGateway {
            logger.critical("BENCHMARK MODE: no gateway, no authentication; every request acts as a backend client with every scope")
        }
        #endif
        let services = try await HealthHubServices.open(
            database: config.database, masterKey: config.masterKey, masterKeyFile: config.resolvedMasterKeyFile, migrate: config.runMigrations, logger: logger,
            scheduling: config.scheduling, ai: config.ai)
        let ready: @Sendable (String) async -> Void = { url in
            // Unbuffered, so scripts waiting for this line see it at once.
            FileHandle.standardOutput.write(Data("HealthHub ready at \(url) (FHIR base \(url)fhir)\n".utf8))
        }
        do {
            try await runServer(services: services, configuration: config, onReady: ready)
        } catch {
            await services.shutdown()
            throw error
        }
        await services.shutdown()
        logger.info("stopped")
    }
}
