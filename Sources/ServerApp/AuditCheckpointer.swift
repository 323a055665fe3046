import Audit
import Logging
import ServiceLifecycle
import Storage

/// Copies the audit chain head to the checkpoint file every few seconds and at shutdown, so
/// `healthhub audit verify` can tell a chain cut short from a complete one.
package struct AuditCheckpointer: Service {
    let database: any Database
    let file: AuditCheckpointFile
    let logger: Logger
    let interval: Duration

    package init(database: any Database, file: AuditCheckpointFile, logger: Logger, interval: Duration = .seconds(10)) {
        self.database = database
        self.file = file
        self.logger = logger
        self.interval = interval
    }

    package func checkpoint() async {
        do {
            let head = try await database.read { try await AuditChain.head(on: $0) }
            try file.record(head)
        } catch {
            logger.error("audit checkpoint failed", metadata: ["error": .string(String(describing: error).prefix(200).description)])
        }
    }

    package func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await checkpoint()
            }
        }
        await checkpoint()
    }
}
