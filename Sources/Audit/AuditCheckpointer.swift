import Foundation
import Kernel
import Logging
import ServiceLifecycle
import Storage
import Telemetry

/// Copies the audit chain head to the checkpoint file every few seconds and at shutdown, so
/// `healthhub audit verify` can tell a chain cut short from a complete one.
package struct AuditCheckpointer: Service {
    let database: any Database
    let file: AuditCheckpointFile
    let logger: Logger
    let interval: Duration
    let telemetry: Telemetry?

    package init(database: any Database, file: AuditCheckpointFile, logger: Logger, interval: Duration = .seconds(10), telemetry: Telemetry? = nil) {
        self.database = database
        self.file = file
        self.logger = logger
        self.interval = interval
        self.telemetry = telemetry
    }

    package func checkpoint() async {
        do {
            let head = try await database.read { try await AuditChain.head(on: $0) }
            try file.record(head)
            telemetry?.set(.auditCheckpoint, Now.date.timeIntervalSince1970)
        } catch {
            logger.error("audit checkpoint failed", metadata: ["error": .string(String(describing: error).prefix(200).description)])
        }
    }

    package func run() async throws {
        // Until the first checkpoint, "last checkpoint" is the start: a checkpoint file that can
        // never be written still trips the stale-checkpoint alarm.
        telemetry?.set(.auditCheckpoint, Now.date.timeIntervalSince1970)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await checkpoint()
            }
        }
        await checkpoint()
    }
}
