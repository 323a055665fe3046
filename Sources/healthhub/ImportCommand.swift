import ArgumentParser
import Audit
import FHIR
import Foundation
import ServerApp
import Storage

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import FHIR Bundles (.json) and NDJSON files; directories are walked recursively, .bz2/.gz are decompressed.")

    @OptionGroup var common: DatabaseOptions

    @Argument(help: "Files or directories, imported in the order given (each directory in name order).")
    var paths: [String]

    func run() async throws {
        let config = try common.configuration(try common.settings())
        let logger = Logs.bootstrap(config)
        let files = try ResourceImporter.files(in: paths)
        guard !files.isEmpty else { throw ValidationError("No .json or .ndjson files found under \(paths.joined(separator: ", "))") }
        let services = try await HealthHubServices.open(
            database: config.database, masterKey: config.masterKey, masterKeyFile: config.resolvedMasterKeyFile, migrate: true, logger: logger)
        let total = files.count
        let summary = await ResourceImporter(fhir: services.fhir).run(files) { done, s in
            let line = String(format: "[%d/%d] %d resources, %.0f resources/s, %d failed\n", done, total, s.resources, s.rate, s.failures.count)
            FileHandle.standardError.write(Data(line.utf8))
        }
        try? await services.database.optimize()
        if let path = config.resolvedAuditCheckpointFile {
            await AuditCheckpointer(database: services.database, file: AuditCheckpointFile(path: path), logger: logger).checkpoint()
        }
        await services.shutdown()
        for failure in summary.failures {
            FileHandle.standardError.write(Data("FAILED \(failure)\n".utf8))
        }
        for (type, count) in summary.byType.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("  \(type): \(count)\n".utf8))
        }
        print(
            String(
                format: "Imported %d resources from %d files in %.1f s (%.0f resources/s), %d failed",
                summary.resources, summary.files, summary.seconds, summary.rate, summary.failures.count))
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }
}
