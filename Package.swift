// swift-tools-version:6.1
import PackageDescription

// Layers (dependencies point down only; docs/architecture.md has the generated graph):
//   healthhub (CLI) -> ServerApp (composition root) -> Ops, Demo, Auth -> FHIR, Audit, Identity, Alarms
//   -> Gateway, Storage, Sealing -> Kernel, Telemetry. Feature modules meet only in Kernel's ports.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "HealthHub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "healthhub", targets: ["healthhub"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // Foundation-only vocabulary shared by every module: ids, clock, errors.
        .target(name: "Kernel", swiftSettings: strictSettings),
        // Metrics: the Prometheus registry behind /metrics and the signals the alarms read.
        .target(
            name: "Telemetry",
            dependencies: [
                "Kernel",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ], swiftSettings: strictSettings),
        // SQLKit database handle for SQLite and PostgreSQL, migrations, transactions.
        .target(
            name: "Storage",
            dependencies: [
                "Kernel", "Telemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strictSettings),
        // The durable event log (ordered changes for live updates, notifications, subscriptions)
        // and durable jobs with leases (reminders first), both in the database.
        .target(
            name: "Events",
            dependencies: [
                "Kernel", "Storage",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings),
        // Keyring and AES-256-GCM envelope encryption. (Not named Security: on Linux a module of
        // that name makes `canImport(Security)` true inside swift-certificates.)
        .target(
            name: "Sealing",
            dependencies: [
                "Kernel", "Storage",
                .product(name: "Crypto", package: "swift-crypto"),
            ], swiftSettings: strictSettings),
        // Request context, request ids, error mapping.
        .target(
            name: "Gateway",
            dependencies: [
                "Kernel", "Telemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
            ], resources: [.copy("Templates"), .copy("Static")], swiftSettings: strictSettings),
        // FHIR R4: JSON model, definitions, FHIRPath, validation, store, search, REST routes.
        .target(
            name: "FHIR",
            dependencies: [
                "Kernel", "Storage", "Sealing", "Gateway",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ], resources: [.copy("Definitions")], swiftSettings: strictSettings),
        // Tamper-evident audit trail: rendered events sealed and chained by SHA-256, verification,
        // checkpoints. Knows no FHIR: the renderer and the reading side are Kernel ports.
        .target(
            name: "Audit",
            dependencies: [
                "Kernel", "Storage", "Sealing", "Telemetry",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings),
        // Accounts, passwords, TOTP, OAuth clients, grants, sessions, ES256 JWTs (no HTTP).
        .target(
            name: "Identity",
            dependencies: [
                "Kernel", "Storage", "Sealing",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ], resources: [.copy("Resources/common-passwords.txt")], swiftSettings: strictSettings),
        // Email and text messages: a small SMTP client (relay or implicit TLS), plain-text
        // messages, a Twilio-compatible SMS client, and the patient's choices of how to be told;
        // for the alarms' email channel and notifications.
        .target(
            name: "Mail",
            dependencies: [
                "Kernel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ], swiftSettings: strictSettings),
        // The 22 alarms: rules over the telemetry signals, states, history, silences, uptime
        // tallies, and the webhook, email and log channels.
        .target(
            name: "Alarms",
            dependencies: [
                "Kernel", "Storage", "Telemetry", "Mail",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ], swiftSettings: strictSettings),
        // Tracing: a swift-distributed-tracing tracer exporting spans over OTLP/HTTP (JSON).
        .target(
            name: "Traces",
            dependencies: [
                "Kernel",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings),
        // HTTP side of identity: bearer authentication, OAuth2/SMART endpoints, login pages.
        .target(
            name: "Auth",
            dependencies: [
                "Kernel", "Storage", "Identity", "Gateway", "Telemetry", "Mail",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ], resources: [.copy("Templates")], swiftSettings: strictSettings),
        // The operations surface: health, readiness, metrics endpoint, status page, alarms API, WAF
        // admin, probes, the alarm loop, SIGHUP reloads, database maintenance.
        .target(
            name: "Ops",
            dependencies: [
                "Kernel", "Storage", "Telemetry", "Gateway", "Alarms", "Audit", "Traces",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ], resources: [.copy("Templates")], swiftSettings: strictSettings),
        // The AI services' engines: one protocol per capability (speech, translation, text
        // recognition), the offline engines behind them (espeak-ng, Apertium, Tesseract) run as
        // subprocesses through one gate (timeout, bounded queue, metrics), and their API routes.
        .target(
            name: "AI",
            dependencies: [
                "Kernel", "Telemetry", "Gateway",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ], resources: [.copy("Resources/protected-terms.txt"), .copy("Resources/triage-eval.jsonl"), .copy("Workers")], swiftSettings: strictSettings),
        // Scheduling: the booking rules every Appointment write obeys (no double booking).
        .target(
            name: "Scheduling",
            dependencies: [
                "Kernel", "Storage", "FHIR", "Events", "Mail",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "SQLKit", package: "sql-kit"),
            ], swiftSettings: strictSettings),
        // Secure messaging: threads of FHIR Communications between a patient and their care
        // team, their state (open/done, assignment, read receipts), attachments, notifications.
        .target(
            name: "Messaging",
            dependencies: [
                "Kernel", "Storage", "FHIR", "Events", "Mail",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "SQLKit", package: "sql-kit"),
            ], swiftSettings: strictSettings),
        // The face of HealthHub: the landing page, the patient portal and the clinician console,
        // their pages as templates and their strings from per-language catalogues.
        .target(
            name: "Portal",
            dependencies: [
                "Kernel", "Gateway", "FHIR", "Scheduling", "Messaging", "Identity", "Auth", "Events", "Mail", "Alarms", "AI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ], resources: [.copy("Templates"), .copy("Strings")], swiftSettings: strictSettings),
        // Demo data: a seeded generator of realistic patients and their records, the demo
        // practitioners, and demo accounts with their own passwords and enrolment codes.
        .target(
            name: "Demo",
            dependencies: [
                "Kernel", "Storage", "FHIR", "Identity",
            ], swiftSettings: strictSettings),
        // Composition root: configuration, HealthHubServices, buildApplication, runServer.
        .target(
            name: "ServerApp",
            dependencies: [
                "Kernel", "Storage", "Sealing", "Gateway", "FHIR", "Audit", "Identity", "Auth", "Telemetry", "Alarms", "Traces", "Ops", "Scheduling", "Portal", "Events", "Mail",
                "Messaging", "AI",
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings),
        .executableTarget(
            name: "healthhub",
            dependencies: [
                "ServerApp", "Kernel", "Storage", "FHIR", "Audit", "Identity", "Gateway", "Alarms", "Ops", "Demo", "Scheduling", "Mail", "Messaging", "Auth", "AI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strictSettings),

        .target(
            name: "TestSupport",
            dependencies: [
                "Storage", "Kernel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ], path: "Tests/TestSupport", swiftSettings: strictSettings),
        .testTarget(name: "KernelTests", dependencies: ["Kernel"], swiftSettings: strictSettings),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "TestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "EventsTests",
            dependencies: [
                "Events", "Kernel", "Storage", "TestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "SealingTests",
            dependencies: [
                "Sealing", "Storage", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "Kernel", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ], exclude: ["Snapshots"], swiftSettings: strictSettings),
        .testTarget(
            name: "FHIRTests",
            dependencies: [
                "FHIR", "Kernel", "Storage", "Sealing", "TestSupport", "Gateway",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ], swiftSettings: strictSettings),
        .testTarget(name: "PortalTests", dependencies: ["Portal", "Gateway", "TestSupport"], exclude: ["Snapshots"], swiftSettings: strictSettings),
        .testTarget(
            name: "SchedulingTests",
            dependencies: [
                "Scheduling", "FHIR", "Kernel", "Storage", "Sealing", "TestSupport", "Events",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "AITests",
            dependencies: ["AI", "Kernel", "Telemetry"], exclude: ["Fixtures"], swiftSettings: strictSettings),
        .testTarget(name: "MailTests", dependencies: ["Mail", "Kernel", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "AlarmsTests",
            dependencies: [
                "Alarms", "Telemetry", "Storage", "TestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "AuditTests",
            dependencies: [
                "Audit", "Kernel", "Sealing", "Storage", "TestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "IdentityTests",
            dependencies: [
                "Identity", "Kernel", "Storage", "Sealing", "TestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ], swiftSettings: strictSettings),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "Gateway", "Identity", "TestSupport"], exclude: ["Snapshots"], swiftSettings: strictSettings),
        .testTarget(name: "OpsTests", dependencies: ["Ops", "Gateway", "Kernel", "TestSupport"], exclude: ["Snapshots"], swiftSettings: strictSettings),
        .testTarget(
            name: "ServerAppTests",
            dependencies: [
                "ServerApp", "FHIR", "Storage", "TestSupport", "Audit", "Kernel", "Identity", "Gateway", "Alarms", "Telemetry", "Traces", "Ops", "Demo", "Scheduling", "Events",
                "Mail", "AI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
            ], swiftSettings: strictSettings),
    ]
)
