import Alarms
import Foundation
import SQLKit
import Storage
import Telemetry
import TestSupport
import Testing

let alarmMigrations = MigrationRunner(AlarmStore.migrations)

/// A database that is down: every operation fails.
struct DownDatabase: Database {
    var dialect: DatabaseDialect { .sqlite }
    var poolSize: Int { 1 }
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T { throw StorageError.unavailable("down") }
    func transaction<T: Sendable>(_ body: @Sendable (DatabaseTransaction) async throws -> T) async throws -> T { throw StorageError.unavailable("down") }
    func shutdown() async {}
    func optimize() async throws {}
}

@Suite struct AlarmStoreTests {
    @Test func anAlarmIsAnnouncedWhileTheDatabaseIsDownAndItsStateSavedLater() async throws {
        let coordinator = AlarmCoordinator(engine: AlarmEngine(now: 1000), store: AlarmStore(database: DownDatabase(), instance: "node-a"))
        _ = await coordinator.observe(Self.sample(at: 1000, databaseUp: false))
        let fired = await coordinator.observe(Self.sample(at: 1120, databaseUp: false))
        #expect(fired.notifications.map(\.alarm) == ["ComponentDown"])
        #expect(fired.storeError?.hasPrefix("silences unreadable") == true || fired.storeError?.hasPrefix("alarm states not saved") == true)
    }

    /// A history with the database probe failing from `downFrom` on.
    static func sample(at t: Double, databaseUp: Bool) -> SignalSample {
        SignalSample(at: t, values: [.probeDatabase: databaseUp ? 1 : 0, .probeStorage: 1, .probeAudit: 1, .httpRequests: t, .http5xx: 0])
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func statesAndHistoryPersistAndARestartDoesNotReannounce(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: alarmMigrations) { (db: any Database) async throws in
            let store = AlarmStore(database: db, instance: "node-a")
            var coordinator = try await AlarmCoordinator.open(store: store, now: 1000)
            _ = await coordinator.observe(Self.sample(at: 1000, databaseUp: true))
            let down1 = await coordinator.observe(Self.sample(at: 1060, databaseUp: false))
            #expect(down1.transitions.map(\.to) == [.pending])
            #expect(down1.notifications.isEmpty)
            let down2 = await coordinator.observe(Self.sample(at: 1180, databaseUp: false))  // 2 min pending: fires
            #expect(down2.transitions.map(\.to) == [.firing])
            #expect(down2.notifications.map(\.alarm) == ["ComponentDown"])
            #expect(down2.notifications.first?.status == "firing")
            #expect(down2.notifications.first?.severity == "page")

            // a new process on the same instance picks the state up: still firing, no second notification
            coordinator = try await AlarmCoordinator.open(store: store, now: 1200)
            let component = coordinator.engine.statuses().first { $0.name == "ComponentDown" }
            #expect(component?.state == .firing)
            #expect(component?.since == 1180)
            let again = await coordinator.observe(Self.sample(at: 1240, databaseUp: false))
            #expect(again.transitions.isEmpty)
            // a clear reading in the first 5 minutes after the restart does not resolve it yet
            #expect(await coordinator.observe(Self.sample(at: 1300, databaseUp: true)).transitions.isEmpty)
            let healed = await coordinator.observe(Self.sample(at: 1560, databaseUp: true))
            #expect(healed.transitions.map(\.to) == [.resolved])
            #expect(healed.notifications.first?.status == "resolved")
            #expect(healed.notifications.first?.firingSeconds == 380)

            let history = try await store.history(limit: 10, rule: "ComponentDown")
            #expect(history.map(\.transition.to) == [.resolved, .firing, .pending])
            #expect(history.map(\.transition.duration) == [380, 120, 60])
            #expect(history.allSatisfy { $0.instance == "node-a" && !$0.silenced })
            // another instance's states are its own
            let other = try await AlarmStore(database: db, instance: "node-b").loadStates()
            #expect(other.isEmpty)
            #expect(try await store.states(instance: nil).count == 22)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func silencesHoldBackNotificationsButNotStates(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: alarmMigrations) { (db: any Database) async throws in
            let store = AlarmStore(database: db, instance: "node-a")
            let coordinator = try await AlarmCoordinator.open(store: store, now: 1000)
            let silence = try await store.addSilence(matcher: "ComponentDown", startsAt: 1000, endsAt: 1150, reason: "database maintenance", createdBy: "User/admin")
            _ = await coordinator.observe(Self.sample(at: 1000, databaseUp: false))
            let fired = await coordinator.observe(Self.sample(at: 1120, databaseUp: false))
            #expect(fired.transitions.map(\.to) == [.firing])
            #expect(fired.notifications.isEmpty)
            #expect(fired.silenced == ["ComponentDown"])
            #expect(try await store.silences(activeAfter: 1100).map(\.id) == [silence.id])
            // once the silence has ended, the resolution is announced
            let healed = await coordinator.observe(Self.sample(at: 1400, databaseUp: true))
            #expect(healed.notifications.map(\.status) == ["resolved"])
            #expect(try await store.silences(activeAfter: 1200).isEmpty)
            #expect(try await store.history(limit: 5).first { $0.transition.to == .firing }?.silenced == true)
            // a wildcard silence ended early
            let all = try await store.addSilence(matcher: "*", startsAt: 1200, endsAt: 99999, reason: "upgrade", createdBy: "cli:ops")
            #expect(all.covers("DiskSpaceLow", at: 1300))
            #expect(try await store.expireSilence(id: all.id, at: 1300))
            #expect(try await store.silences(activeAfter: 1301).isEmpty)
            #expect(try await store.expireSilence(id: "nope", at: 1300) == false)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func restartsAreCountedPerInstanceOverTheLastHour(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: alarmMigrations) { (db: any Database) async throws in
            let a = AlarmStore(database: db, instance: "node-a")
            #expect(try await a.recordStart(at: 10_000) == 1)
            #expect(try await a.recordStart(at: 11_000) == 2)
            #expect(try await AlarmStore(database: db, instance: "node-b").recordStart(at: 11_500) == 1)
            #expect(try await a.recordStart(at: 14_000) == 2)  // the first start is more than an hour old
            #expect(try await a.starts(since: 0) == 3)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func uptimeCountsFailedProbesAndMinutesTheServerWasDown(_ kind: TestDatabaseKind) async throws {
        try await TestDatabases.with(kind, migrations: alarmMigrations) { (db: any Database) async throws in
            let uptime = UptimeStore(database: db, instance: "node-a")
            let start = 1_800_000_000.0
            // 10 rounds, one per minute; the database probe fails in 2 of them
            for i in 0..<10 {
                let missed = try await uptime.record(["api": true, "database": i != 3 && i != 4, "storage": true, "audit": true], at: start + Double(i) * 60)
                #expect(missed == 0)
            }
            // the server was off for 10 minutes: 9 missed rounds count as down for every component
            #expect(try await uptime.record(["api": true, "database": true, "storage": true, "audit": true], at: start + 19 * 60) == 9)
            let report = Dictionary(uniqueKeysWithValues: try await uptime.availability(days: 30, now: start + 20 * 60).map { ($0.component, $0) })
            #expect(report["api"]?.probes == 20)
            #expect(report["api"]?.availability == 11.0 / 20.0)
            #expect(report["database"]?.availability == 9.0 / 20.0)
            // nothing older than the window counts
            let later = try await uptime.availability(days: 30, now: start + 31 * 86400)
            #expect(later.allSatisfy { $0.availability == nil && $0.probes == 0 })
        }
    }
}
