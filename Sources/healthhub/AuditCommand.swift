import ArgumentParser
import Audit
import FHIR
import Foundation
import ServerApp

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Work with the audit trail.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the audit hash chain and the checkpoint file; prints OK with a count, or the first broken link and exits 1.")

        @OptionGroup var common: DatabaseOptions

        func run() async throws {
            let config = try common.configuration(try common.settings())
            let logger = Logs.bootstrap(config)
            let services = try await HealthHubServices.open(
                database: config.database, masterKey: config.masterKey, masterKeyFile: config.resolvedMasterKeyFile, migrate: false, logger: logger)
            let result: AuditVerifier.Result
            do {
                result = try await AuditVerifier(trail: services.audit).verify(checkpoints: config.resolvedAuditCheckpointFile.map(AuditCheckpointFile.init(path:)))
            } catch {
                await services.shutdown()
                throw error
            }
            await services.shutdown()
            switch result {
            case .ok(let records):
                print("OK: \(records) audit records verified")
            case .broken(let seq, let reason):
                print("BROKEN at audit record \(seq): \(reason)")
                throw ExitCode(1)
            }
        }
    }
}
