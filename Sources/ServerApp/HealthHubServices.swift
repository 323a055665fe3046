import AI
import Alarms
import Audit
import Events
import FHIR
import Foundation
import Identity
import Kernel
import Logging
import Messaging
import Scheduling
import Sealing
import Storage
import Telemetry

/// The opened parts of HealthHub that every command shares: the database, the keyring and the
/// FHIR service. `serve`, `import` and `demo` all start here.
package struct HealthHubServices: Sendable {
    package let database: any Database
    package let fhir: FHIRService
    package let audit: AuditTrail
    package let identity: IdentityServices
    package let keyring: Keyring
    package let logger: Logger
    /// Metrics of this process (`/metrics` and the alarms); the database reports into it.
    package let telemetry: Telemetry
    /// Durable jobs (hold expiry first), run by `runServer`'s job runner.
    package let jobs: JobQueue
    /// The ordered log of changes (appointments first) that notifications and live updates read.
    package let events: EventLog
    /// The scheduling settings the booking rule and the operations use.
    package let scheduling: SchedulingConfiguration
    /// The AI services (speech, translation, text recognition) with their engines' gates.
    package let ai: AIServices
    /// The state of message threads (open/done, assignment, read receipts).
    package var messages: MessageCenter { MessageCenter(database: database) }

    /// Every migration of every module, in the order they apply.
    package static let migrations = MigrationRunner(
        Keyring.migrations + FHIRMigrations.all + AuditTrail.migrations
            + AccessPolicy.careMigrations + IdentityMigrations.all + AlarmStore.migrations + SchedulingMigrations.all
            + EventLog.migrations + JobQueue.migrations + MessagingMigrations.all)

    /// `masterKeyFile`: where the master key is read (or, for a database that holds no data key
    /// yet, created) when `masterKey` is not given.
    package static func open(
        database url: DatabaseURL, masterKey: String?, masterKeyFile: String?, migrate: Bool, logger: Logger,
        telemetry: Telemetry = Telemetry(), scheduling: SchedulingConfiguration = SchedulingConfiguration(), ai: AIConfiguration = AIConfiguration()
    ) async throws -> HealthHubServices {
        let definitions = try FHIRDefinitions.loadBundled()
        let database = InstrumentedDatabase(try await DatabaseFactory.open(url, logger: logger), telemetry: telemetry)
        do {
            if migrate {
                let applied = try await migrations.migrate(database)
                if !applied.isEmpty { logger.info("migrations applied", metadata: ["ids": .string(applied.joined(separator: ","))]) }
            } else {
                let pending = try await migrations.pending(database)
                guard pending.isEmpty else {
                    throw StorageError.migrationFailed(id: pending[0], reason: "\(pending.count) migration(s) pending; run `healthhub migrate` or start without --no-migrate")
                }
            }
            // A database that already holds data keys never gets a new master key made for it.
            let key = try MasterKey.load(environmentValue: masterKey, keyFile: masterKeyFile, mayCreate: !(try await Keyring.hasDataKeys(database)))
            let keyring = try await Keyring.load(from: database, masterKey: key)
            logger.info("keyring ready", metadata: ["master_key": .string(key.source), "data_key": .string(keyring.currentKeyID)])
            let registry = SearchParameterRegistry(definitions: definitions)
            let jobs = JobQueue(database: database)
            let events = EventLog(database: database)
            let indexer = SearchIndexer(definitions: definitions, registry: registry)
            let store = ResourceStore(
                database: database, keyring: keyring, indexer: indexer, clock: SystemClock(),
                rules: [
                    BookingRule(kinds: scheduling.kinds, jobs: jobs), AppointmentEvents(log: events, jobs: jobs, reminderMinutes: scheduling.reminderMinutes), ScheduleRule(),
                    ThreadRule(log: events, jobs: jobs),
                ])
            let search = SearchEngine(definitions: definitions, registry: registry, store: store)
            let audit = AuditTrail(database: database, keyring: keyring, renderer: AuditEventRenderer())
            let fhir = FHIRService(definitions: definitions, store: store, search: search, audit: audit, auditEvents: audit)
            let identity = try await IdentityServices.open(database: database, keyring: keyring)
            return HealthHubServices(
                database: database, fhir: fhir, audit: audit, identity: identity, keyring: keyring, logger: logger, telemetry: telemetry, jobs: jobs,
                events: events, scheduling: scheduling, ai: AIServices(configuration: ai, telemetry: telemetry))
        } catch {
            await database.shutdown()
            throw error
        }
    }

    package func shutdown() async {
        await ai.shutdown()
        await database.shutdown()
    }
}
