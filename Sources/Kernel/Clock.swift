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
