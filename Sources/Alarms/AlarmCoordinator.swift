import Foundation
import Synchronization
import Telemetry

/// Ties the engine to its history, its store and its silences: each observed sample is
/// evaluated, states and transitions are saved, and the notifications that are due (entering
/// FIRING or RESOLVED, not silenced) are returned for the caller to send.
package final class AlarmCoordinator: Sendable {
    package let engine: AlarmEngine
    package let store: AlarmStore
    private let history: Mutex<SignalHistory>

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
    }

    package func observe(_ sample: SignalSample) async throws -> Outcome {
        let transitions = history.withLock { h in
            h.append(sample)
            return engine.evaluate(h)
        }
        let silences = try await store.silences(activeAfter: sample.at)
        let silenced = Set(transitions.filter { t in silences.contains { $0.covers(t.rule, at: sample.at) } }.map(\.rule))
        try await store.save(engine.statuses(), transitions: transitions, silenced: silenced)
        let due = transitions.filter { $0.notifies && !silenced.contains($0.rule) }
        return Outcome(transitions: transitions, notifications: due.map { AlarmNotification($0, instance: store.instance) }, silenced: silenced)
    }
}
