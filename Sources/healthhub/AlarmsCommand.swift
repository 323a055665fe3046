import Alarms
import ArgumentParser
import Foundation
import Kernel
import ServerApp

/// `healthhub alarms list|history|silence|unsilence`: the alarm states every running instance
/// saved, their history, and silences. Reads and writes the database, so it works beside
/// running servers (they pick silences up at their next evaluation).
struct AlarmsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarms", abstract: "Show alarms and manage silences.",
        subcommands: [List.self, History.self, Silence.self, Unsilence.self])

    static func withStore<T>(_ common: DatabaseOptions, _ body: (AlarmStore) async throws -> T) async throws -> T {
        let config = try common.configuration(try common.settings())
        let logger = Logs.bootstrap(config)
        let services = try await HealthHubServices.open(
            database: config.database, masterKey: config.masterKey, masterKeyFile: config.resolvedMasterKeyFile, migrate: false, logger: logger)
        do {
            let result = try await body(AlarmStore(database: services.database, instance: config.instanceName))
            await services.shutdown()
            return result
        } catch {
            await services.shutdown()
            throw error
        }
    }

    static func time(_ t: Double) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t)) }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Every alarm of every instance: state, since when, last value; then active silences.")
        @OptionGroup var common: DatabaseOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let (states, silences) = try await AlarmsCommand.withStore(common) { store in
                (try await store.states(instance: nil), try await store.silences(activeAfter: Now.date.timeIntervalSince1970))
            }
            if json {
                struct Row: Encodable { let instance: String; let alarm: AlarmStatus }
                struct Out: Encodable { let alarms: [Row]; let silences: [AlarmStore.Silence] }
                print(try JSON(encoding: Out(alarms: states.map { Row(instance: $0.instance, alarm: $0.status) }, silences: silences)).serializedString(pretty: true))
                return
            }
            if states.isEmpty { print("No alarm states yet: no server has evaluated the rules on this database.") }
            for (instance, s) in states {
                let value = s.noData ? "no data" : s.value.map { String(format: "%.4g", $0) } ?? "-"
                print(
                    "\(instance)  \(s.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(s.state.rawValue.uppercased().padding(toLength: 9, withPad: " ", startingAt: 0)) \(s.severity.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) since \(AlarmsCommand.time(s.since))  value \(value)"
                )
            }
            for s in silences {
                print("silence \(s.id): \(s.matcher) until \(AlarmsCommand.time(s.endsAt)) by \(s.createdBy): \(s.reason)")
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "history", abstract: "Alarm transitions, newest first, with the time spent in the previous state.")
        @OptionGroup var common: DatabaseOptions
        @Option(help: "Only this alarm.") var alarm: String?
        @Option(help: "How many (1-1000).") var limit = 50

        func run() async throws {
            let entries = try await AlarmsCommand.withStore(common) { try await $0.history(limit: limit, rule: alarm) }
            for e in entries {
                let t = e.transition
                print("\(AlarmsCommand.time(t.at))  \(e.instance)  \(t.rule)  \(t.from.rawValue) -> \(t.to.rawValue) after \(Int(t.duration)) s\(e.silenced ? "  (silenced)" : "")")
            }
        }
    }

    struct Silence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "silence", abstract: "Hold back notifications of an alarm (or * for all) for a while; states are still tracked.")
        @OptionGroup var common: DatabaseOptions
        @Option(help: "Alarm name, or * for every alarm.") var alarm: String
        @Option(help: "Minutes (1-10080).") var minutes: Int
        @Option(help: "Why (shown in the list and history).") var reason: String

        func run() async throws {
            let user = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
            let s: AlarmStore.Silence
            do {
                s = try await AlarmsCommand.withStore(common) { try await $0.silence(alarm, minutes: minutes, reason: reason, createdBy: "cli:\(user)") }
            } catch let problem as AlarmStore.SilenceProblem {
                throw ValidationError(problem.description)
            }
            print("silence \(s.id): \(s.matcher) until \(AlarmsCommand.time(s.endsAt))")
        }
    }

    struct Unsilence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unsilence", abstract: "End a silence now.")
        @OptionGroup var common: DatabaseOptions
        @Argument(help: "The silence id (from `alarms list`).") var id: String

        func run() async throws {
            guard try await AlarmsCommand.withStore(common, { try await $0.expireSilence(id: id, at: Now.date.timeIntervalSince1970) }) else {
                print("no silence \(id)")
                throw ExitCode(1)
            }
            print("silence \(id) ended")
        }
    }
}
