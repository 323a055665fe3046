import Foundation
import Gateway
import Logging
import Storage

/// Everything `serve` needs, already resolved from flags > environment > config file > defaults
/// by the CLI. Validated at start-up with every problem listed at once.
package struct HealthHubConfiguration: Sendable {
    package var host: String = "127.0.0.1"
    package var port: Int = 8080
    package var database: DatabaseURL = try! DatabaseURL(DatabaseURL.defaultValue)
    package var runMigrations = true
    /// Base64 master key (from `HEALTHHUB_MASTER_KEY`); wins over the key file.
    package var masterKey: String?
    package var masterKeyFile: String = "data/master.key"
    /// Public base URL of the FHIR API when behind a proxy (`https://fhir.example.org/fhir`).
    package var publicBaseURL: String?
    package var logLevel: Logger.Level = .info
    /// `json` (one object per line, for log collectors) or `text` (for people at a terminal).
    package var logFormat: String = "json"
    package var rateLimits = RateLimiter.Configuration()
    package var waf = WAF.Configuration()
    /// Origins of browser apps allowed to call the API (CORS); none by default.
    package var corsOrigins: [String] = []
    /// Peers whose `X-Forwarded-For` is believed (load balancers, reverse proxies).
    package var trustedProxies: [IPRange] = []
    /// Append-only file of audit chain heads (keep it off the database volume in production);
    /// nil: one named after the database, so two databases never share a file.
    package var auditCheckpointFile: String?

    /// The checkpoint file in use.
    package var resolvedAuditCheckpointFile: String {
        auditCheckpointFile ?? Self.defaultAuditCheckpointFile(for: database)
    }

    /// `<db file>.audit-checkpoints` beside a SQLite database; `data/audit-checkpoints-<host>-<port>-<db>.log` for PostgreSQL.
    package static func defaultAuditCheckpointFile(for database: DatabaseURL) -> String {
        switch database {
        case .sqlite(let path): return path + ".audit-checkpoints"
        case .postgres(let t): return "data/audit-checkpoints-\(t.host)-\(t.port)-\(t.database).log"
        }
    }

    package init() {}
}
