import Telemetry

/// What the signals read at one moment (Unix seconds).
package struct SignalSample: Sendable, Equatable {
    package var at: Double
    package var values: [Signal: Double]

    package init(at: Double, values: [Signal: Double]) {
        self.at = at
        self.values = values
    }
}

/// Samples of the signals over the longest alarm window (6 h), oldest first, so rules can ask
/// how much a counter grew over a window or what a gauge read then. With less history than a
/// window, the oldest sample stands in for its start (as a fresh Prometheus would extrapolate).
package struct SignalHistory: Sendable {
    package private(set) var samples: [SignalSample] = []
    /// How long samples are kept: the longest window plus one evaluation.
    package let retention: Double

    package init(retention: Double = 6 * 3600 + 120) { self.retention = retention }

    package mutating func append(_ sample: SignalSample) {
        if let last = samples.last, sample.at < last.at { return }
        samples.append(sample)
        let cutoff = sample.at - retention
        if let first = samples.firstIndex(where: { $0.at >= cutoff }), first > 0 { samples.removeFirst(first) }
    }

    package var now: Double { samples.last?.at ?? 0 }

    /// The latest value; nil = no data.
    package func value(_ signal: Signal) -> Double? { samples.last?.values[signal] }

    /// The sample at the start of `window` seconds ago (the latest one at or before it).
    package func sample(secondsAgo window: Double) -> SignalSample? {
        guard let last = samples.last else { return nil }
        let target = last.at - window
        var lo = 0
        var hi = samples.count - 1
        var found: Int?
        while lo <= hi {
            let mid = (lo + hi) / 2
            if samples[mid].at <= target { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return samples[found ?? 0]
    }

    /// How long the history reaches back.
    package var span: Double { (samples.last?.at ?? 0) - (samples.first?.at ?? 0) }

    /// How much a counter grew over the window; a reset (restart) counts from zero.
    package func increase(_ signal: Signal, over window: Double) -> Double? {
        guard let latest = value(signal) else { return nil }
        guard let start = sample(secondsAgo: window)?.values[signal] else { return latest }
        return latest >= start ? latest - start : latest
    }

    /// `part`'s growth over `whole`'s growth in the window; 0 when nothing happened.
    package func ratio(_ part: Signal, of whole: Signal, over window: Double) -> Double? {
        guard let p = increase(part, over: window), let w = increase(whole, over: window) else { return nil }
        return w > 0 ? p / w : 0
    }
}
