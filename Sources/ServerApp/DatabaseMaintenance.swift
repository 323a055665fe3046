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
        repeat {
            do {
                try await database.optimize()
            } catch {
                logger.warning("database statistics refresh failed", metadata: ["error": .string(String(describing: error).prefix(200).description)])
            }
            try? await Task.sleep(for: interval)
        } while !Task.isCancelledOrShuttingDown
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
