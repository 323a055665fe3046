import ArgumentParser
import Audit
import Demo
import FHIR
import Foundation
import ServerApp
import Storage

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Load synthetic demo patients made by HealthHub's own generator.")

    @OptionGroup var common: DatabaseOptions

    @Option(help: "How many patients to generate.")
    var patients: Int = 25

    @Option(help: "Random seed; the same seed gives the same patients.")
    var seed: UInt64 = 2026

    @Option(help: "Where to write the demo accounts' credentials (mode 0600).")
    var credentialsFile: String = "data/demo-credentials.txt"

    func validate() throws {
        guard (1...100_000).contains(patients) else { throw ValidationError("--patients must be between 1 and 100000") }
    }

    func run() async throws {
        let config = try common.configuration(try common.settings())
        let logger = Logs.bootstrap(config)
        let services = try await HealthHubServices.open(
            database: config.database, masterKey: config.masterKey, masterKeyFile: config.resolvedMasterKeyFile, migrate: true, logger: logger)
        do {
            let loaded = try await DemoLoader(fhir: services.fhir).load(patients: patients, seed: seed)
            try? await services.database.optimize()
            if let path = config.resolvedAuditCheckpointFile {
                await AuditCheckpointer(database: services.database, file: AuditCheckpointFile(path: path), logger: logger).checkpoint()
            }
            print("Loaded \(patients) demo patients (\(loaded) resources).")
            if let credentials = try await DemoAccounts(fhir: services.fhir, identity: services.identity).create(population: DemoPopulation(seed: seed)) {
                let url = URL(fileURLWithPath: credentialsFile)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: url.path, contents: Data(credentials.text.utf8), attributes: [.posixPermissions: 0o600])
                print("Demo accounts and a backend client: see \(credentialsFile)")
            }
        } catch {
            await services.shutdown()
            throw error
        }
        await services.shutdown()
    }
}
