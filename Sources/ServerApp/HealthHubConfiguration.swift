import Foundation
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
    /// Append-only file of audit chain heads (keep it off the database volume in production).
    package var auditCheckpointFile: String = "data/audit-checkpoints.log"

    package init() {}
}
