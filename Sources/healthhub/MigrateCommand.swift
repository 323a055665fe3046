import ArgumentParser
import Foundation
import ServerApp
import Storage

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")

    @OptionGroup var common: DatabaseOptions

    func run() async throws {
        let config = try common.configuration(try common.settings())
        let logger = Logs.bootstrap(config)
        let database = try await DatabaseFactory.open(config.database, logger: logger)
        do {
            let applied = try await HealthHubServices.migrations.migrate(database)
            print(applied.isEmpty ? "Database is up to date." : "Applied \(applied.count) migration(s): \(applied.joined(separator: ", "))")
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }
}
