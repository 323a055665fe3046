import ArgumentParser
import Foundation
import Gateway
import Kernel
import Logging
import ServerApp
import Storage

@main
struct HealthHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthhub",
        abstract: "HealthHub: a self-hostable healthcare platform with a FHIR R4 API.",
        discussion:
            "Every option can also be set with the environment variable HEALTHHUB_<OPTION> (e.g. HEALTHHUB_DATABASE) or in a config file of HEALTHHUB_<OPTION>=value lines (--config or HEALTHHUB_CONFIG).",
        version: HealthHubVersion.current,
        subcommands: [
            ServeCommand.self, MigrateCommand.self, ImportCommand.self, DemoCommand.self, UsersCommand.self, ClientsCommand.self,
            KeysCommand.self, CareCommand.self, AuditCommand.self, AlarmsCommand.self, FHIRPathCommand.self,
        ])
}

/// Options every command that opens the database takes.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help: "Database URL: sqlite:///abs/path.db, sqlite://relative/path.db or postgres://user:pass@host:port/db (env HEALTHHUB_DATABASE; default \(DatabaseURL.defaultValue)).")
    var database: String?

    @Option(
        help:
            "File holding the base64 master key; created with mode 0600 when missing (env HEALTHHUB_MASTER_KEY_FILE; default data/master.key). HEALTHHUB_MASTER_KEY, when set, is used instead."
    )
    var masterKeyFile: String?

    @Option(help: "Config file of HEALTHHUB_<OPTION>=value lines (env HEALTHHUB_CONFIG).")
    var config: String?

    @Option(
        help:
            "Append-only file of audit chain heads (env HEALTHHUB_AUDIT_CHECKPOINT_FILE; default: beside a SQLite database as <file>.audit-checkpoints, data/audit-checkpoints-<host>-<port>-<db>.log for PostgreSQL)."
    )
    var auditCheckpointFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env HEALTHHUB_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(help: "Log format: json (one object per line) or text (env HEALTHHUB_LOG_FORMAT; default json).")
    var logFormat: String?

    func settings() throws -> Settings { try Settings(configPath: config) }

    /// Resolves the shared settings into a configuration, reporting every problem at once.
    func configuration(_ settings: Settings) throws -> HealthHubConfiguration {
        var c = HealthHubConfiguration()
        var problems: [String] = []
        do {
            c.database = try DatabaseURL(settings.value(database, "DATABASE") ?? DatabaseURL.defaultValue)
        } catch {
            problems.append(error.description)
        }
        c.masterKey = settings.value(nil, "MASTER_KEY")
        c.masterKeyFile = settings.value(masterKeyFile, "MASTER_KEY_FILE")
        c.auditCheckpointFile = settings.value(auditCheckpointFile, "AUDIT_CHECKPOINT_FILE")
        // Never relative to whichever folder a command happens to run in.
        for (name, path) in [("master key file", c.masterKeyFile), ("audit checkpoint file", c.auditCheckpointFile)] {
            if let path, !path.hasPrefix("/") { problems.append("the \(name) must be an absolute path (got \(path.prefix(200)))") }
        }
        if let level = settings.value(logLevel, "LOG_LEVEL") {
            if let l = Logger.Level(rawValue: level) { c.logLevel = l } else { problems.append("log level must be one of trace, debug, info, notice, warning, error, critical") }
        }
        if let format = settings.value(logFormat, "LOG_FORMAT") {
            if ["json", "text"].contains(format) { c.logFormat = format } else { problems.append("log format must be json or text") }
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        return c
    }
}

enum Logs {
    static func bootstrap(_ config: HealthHubConfiguration) -> Logger {
        let level = config.logLevel
        if config.logFormat == "text" {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "healthhub")
    }
}
