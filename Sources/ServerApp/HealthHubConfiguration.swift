import AI
import Foundation
import Gateway
import Logging
import Mail
import Messaging
import Ops
import Scheduling
import Storage

/// Everything `serve` needs, resolved from flags > environment > config file > defaults: the
/// composition root's own settings here, each module's part read and checked by that module
/// (`GatewayConfiguration`, `OpsConfiguration`), every problem reported at once at start-up.
package struct HealthHubConfiguration: Sendable {
    package var host: String = "127.0.0.1"
    package var port: Int = 8080
    package var database: DatabaseURL = try! DatabaseURL(DatabaseURL.defaultValue)
    package var runMigrations = true
    /// Base64 master key (from `HEALTHHUB_MASTER_KEY`); wins over the key file.
    package var masterKey: String?
    /// An absolute path, when configured; otherwise `master.key` beside an SQLite database, and
    /// none for PostgreSQL (its key comes from `HEALTHHUB_MASTER_KEY` or a configured file).
    package var masterKeyFile: String?
    /// Public base URL of the FHIR API when behind a proxy (`https://fhir.example.org/fhir`).
    package var publicBaseURL: String?
    /// Host names answered besides loopback ones when there is no public base URL
    /// (`HEALTHHUB_ALLOWED_HOSTS`); see `HostGuardMiddleware`.
    package var allowedHosts: [String] = []
    package var logLevel: Logger.Level = .info
    /// `json` (one object per line, for log collectors) or `text` (for people at a terminal).
    package var logFormat: String = "json"
    /// The gateway's part (rate limits, WAF, geo, trusted proxies, CORS), read by the gateway.
    package var gateway = GatewayConfiguration()
    /// The operations surface's part (metrics, alarms, tracing, TLS), read by Ops.
    package var ops = OpsConfiguration()
    /// Scheduling's part (appointment types, approval, holds, planning horizon), read by Scheduling.
    package var scheduling = SchedulingConfiguration()
    /// Messaging: the attachment size limit.
    package var messaging = MessagingConfiguration()
    /// The AI services' engines and limits, read by AI.
    package var ai = AIConfiguration()
    /// Email for patient notifications (reminders), read by Mail.
    package var mail = MailConfiguration()
    #if HEALTHHUB_BENCHMARK
    /// Benchmark builds only (`bench/build-benchmark`; loopback only): serve the routes with no
    /// gateway at all and every request acting as a backend client with every scope, to measure
    /// the gateway's cost.
    package var benchmarkWithoutGateway = false
    #endif
    /// Append-only file of audit chain heads (keep it off the database volume in production);
    /// nil: one named after the database, so two databases never share a file.
    package var auditCheckpointFile: String?

    /// The checkpoint file in use, if any.
    package var resolvedAuditCheckpointFile: String? {
        auditCheckpointFile ?? Self.defaultAuditCheckpointFile(for: database)
    }

    /// The master key file in use, if any.
    package var resolvedMasterKeyFile: String? {
        masterKeyFile ?? Self.defaultMasterKeyFile(for: database)
    }

    /// `<db file>.audit-checkpoints` beside a SQLite database. None for PostgreSQL: a file in
    /// the folder of whoever started an instance would give every host its own partial list, so
    /// it must be configured (`HEALTHHUB_AUDIT_CHECKPOINT_FILE`, shared storage apart from the
    /// database), and without one the chain is verified without checkpoints.
    package static func defaultAuditCheckpointFile(for database: DatabaseURL) -> String? {
        switch database {
        case .sqlite(let path): return path + ".audit-checkpoints"
        case .postgres: return nil
        }
    }

    /// `master.key` in the folder of a SQLite database (`data/master.key` for the default
    /// `data/healthhub.db`); none for PostgreSQL.
    package static func defaultMasterKeyFile(for database: DatabaseURL) -> String? {
        switch database {
        case .sqlite(let path): return URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("master.key").path
        case .postgres: return nil
        }
    }

    /// This process's name in alarm states and history: `HEALTHHUB_INSTANCE`, else host:port.
    package var instanceName: String {
        ops.instance ?? "\(ProcessInfo.processInfo.hostName):\(port)"
    }

    /// Where this instance keeps data on disk: the SQLite file, or on PostgreSQL its configured
    /// key or checkpoint file (else the temporary folder, its only other local writes).
    var dataPath: String {
        switch database {
        case .sqlite(let path): path
        case .postgres: masterKeyFile ?? auditCheckpointFile ?? FileManager.default.temporaryDirectory.path
        }
    }

    /// Where the operations surface runs and keeps its files.
    package var placement: OpsPlacement {
        OpsPlacement(instance: instanceName, host: host, dataPath: dataPath, auditCheckpointFile: resolvedAuditCheckpointFile)
    }

    package init() {}
}
