/// Deterministic pseudo-random numbers for the demo population: xoshiro256** seeded through
/// SplitMix64. Every draw is defined here (no standard-library or Foundation randomness), so a
/// seed produces the same patients on every platform and Swift version.
struct DemoRandom: Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    init(seed: UInt64) {
        var state = seed
        s0 = Self.splitMix(&state)
        s1 = Self.splitMix(&state)
        s2 = Self.splitMix(&state)
        s3 = Self.splitMix(&state)
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// A generator for one independent stream derived from a seed, e.g. (seed, patient index, purpose).
    init(seed: UInt64, stream: UInt64, lane: UInt64 = 0) {
        var state = seed
        var h = Self.splitMix(&state)
        h ^= stream &* 0xD1B5_4A32_D192_ED03
        state = h
        h = Self.splitMix(&state)
        h ^= lane &* 0x8CB9_2BA7_2F3D_8DD7
        state = h
        self.init(seed: Self.splitMix(&state))
    }

    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// Uniform integer in `0..<bound` (Lemire's multiply-shift with rejection).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let n = UInt64(bound)
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return Int(product.high)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    mutating func double(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }

    mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    /// Approximately normal (Irwin–Hall sum of twelve uniforms), clamped to `range` when given.
    mutating func normal(mean: Double, sd: Double, clampedTo range: ClosedRange<Double>? = nil) -> Double {
        var sum = 0.0
        for _ in 0..<12 { sum += unit() }
        let value = mean + (sum - 6) * sd
        guard let range else { return value }
        return min(max(value, range.lowerBound), range.upperBound)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Picks an element with probability proportional to its weight.
    mutating func weighted<T>(_ items: [(T, Double)]) -> T {
        let total = items.reduce(0) { $0 + $1.1 }
        var r = unit() * total
        for (item, w) in items {
            if r < w { return item }
            r -= w
        }
        return items[items.count - 1].0
    }

    /// `count` distinct elements in random order (partial Fisher–Yates).
    mutating func sample<T>(_ items: [T], count: Int) -> [T] {
        var pool = items
        let n = min(count, pool.count)
        for i in 0..<n { pool.swapAt(i, i + below(pool.count - i)) }
        return Array(pool[0..<n])
    }

    /// A version 4, variant 1 UUID in lowercase canonical form.
    mutating func uuid() -> String {
        let hi = (next() & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let lo = (next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let h = Self.hex(hi, digits: 16)
        let l = Self.hex(lo, digits: 16)
        let hc = Array(h)
        let lc = Array(l)
        return String(hc[0..<8]) + "-" + String(hc[8..<12]) + "-" + String(hc[12..<16]) + "-"
            + String(lc[0..<4]) + "-" + String(lc[4..<16])
    }

    mutating func digits(_ count: Int) -> String {
        var s = ""
        for _ in 0..<count { s.append(Character(Unicode.Scalar(UInt8(48 + below(10))))) }
        return s
    }

    mutating func letters(_ count: Int) -> String {
        var s = ""
        for _ in 0..<count { s.append(Character(Unicode.Scalar(UInt8(65 + below(26))))) }
        return s
    }

    static func hex(_ value: UInt64, digits: Int) -> String {
        let chars = Array("0123456789abcdef")
        var out = [Character](repeating: "0", count: digits)
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out[i] = chars[Int(v & 0xF)]
            v >>= 4
        }
        return String(out)
    }
}
