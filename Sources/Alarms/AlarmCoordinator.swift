import Foundation
import Synchronization
import Telemetry

/// Ties the engine to its history, its store and its silences: each observed sample is
/// evaluated, states and transitions are saved, and the notifications that are due (entering
/// FIRING or RESOLVED, not silenced) are returned for the caller to send. The database is
/// the thing most likely to be down when alarms matter, so it never stands between an alarm and
/// its notification: silences that cannot be read count as none, and a failed save is reported
/// in the outcome and tried again with the next sample (the unsaved transitions are kept).
package final class AlarmCoordinator: Sendable {
    package let engine: AlarmEngine
    package let store: AlarmStore
    private let history: Mutex<SignalHistory>
    private let unsaved = Mutex<[AlarmTransition]>([])

    package init(engine: AlarmEngine, store: AlarmStore) {
        self.engine = engine
        self.store = store
        history = Mutex(SignalHistory())
    }

    /// Opens the coordinator with the states the previous run of this instance saved.
    package static func open(store: AlarmStore, rules: [AlarmRule] = AlarmRules.all, now: Double) async throws -> AlarmCoordinator {
        AlarmCoordinator(engine: AlarmEngine(rules: rules, restored: try await store.loadStates(), now: now), store: store)
    }

    package struct Outcome: Sendable {
        package var transitions: [AlarmTransition]
        package var notifications: [AlarmNotification]
        /// Rules whose notifications a silence held back.
        package var silenced: Set<String>
        /// Why the states could not be saved or the silences read, if so.
        package var storeError: String?
    }

    package func observe(_ sample: SignalSample) async -> Outcome {
        let transitions = history.withLock { h in
            h.append(sample)
            return engine.evaluate(h)
        }
        var storeError: String?
        var silenced: Set<String> = []
        do {
            let silences = try await store.silences(activeAfter: sample.at)
            silenced = Set(transitions.filter { t in silences.contains { $0.covers(t.rule, at: sample.at) } }.map(\.rule))
        } catch {
            storeError = "silences unreadable: \(String(describing: error).prefix(200))"
        }
        let toSave = unsaved.withLock { pending in
            defer { pending = [] }
            return pending + transitions
        }
        do {
            try await store.save(engine.statuses(), transitions: toSave, silenced: silenced)
        } catch {
            unsaved.withLock { $0 = Array(toSave.suffix(1000)) }  // kept for the next save
            storeError = "alarm states not saved: \(String(describing: error).prefix(200))"
        }
        let due = transitions.filter { $0.notifies && !silenced.contains($0.rule) }
        return Outcome(
            transitions: transitions, notifications: due.map { AlarmNotification($0, instance: store.instance) }, silenced: silenced,
            storeError: storeError)
    }
}
