import Logging
import ServiceLifecycle
import Storage

/// Keeps planner statistics fresh while the server runs: once at start, then hourly. Without
/// them SQLite may walk a whole resource type in date order instead of using the search index.
package struct DatabaseMaintenance: Service {
    let database: any Database
    let logger: Logger
    let interval: Duration

    package init(database: any Database, logger: Logger, interval: Duration = .seconds(3600)) {
        self.database = database
        self.logger = logger
        self.interval = interval
    }

    package func run() async throws {
        // Ends at graceful shutdown (the sleep is cancelled), so SIGTERM stops the server promptly.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await database.optimize()
                } catch {
                    logger.warning("database statistics refresh failed", metadata: ["error": .string(String(describing: error).prefix(200).description)])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
