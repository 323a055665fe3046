import Foundation

/// The time source of the product. Production uses `SystemClock`; tests pin time.
package protocol WallClock: Sendable {
    func now() -> Date
}

package struct SystemClock: WallClock {
    package init() {}
    package func now() -> Date { Date() }
}

extension Duration {
    /// The duration in (fractional) seconds, for metrics and logs.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// The current time, from the clock of the running task: `SystemClock` unless a test pins
/// another (`Now.$clock.withValue(clock) { ... }`, inherited by the tasks started inside).
/// Every "now" in HealthHub comes from here or from an injected `WallClock`, never from `Date()`.
package enum Now {
    @TaskLocal package static var clock: any WallClock = SystemClock()

    package static var date: Date { clock.now() }
}
