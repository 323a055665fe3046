/// Many literal byte patterns found in one pass (Aho–Corasick over lower-cased ASCII), so the
/// WAF's cost does not grow with the number of rules.
struct PatternSet: Sendable {
    private var goto: [[Int32]] = [[Int32](repeating: -1, count: 256)]
    private var fail: [Int32] = [0]
    /// Pattern indexes ending at each state (including those reached by failure links).
    private var output: [[Int]] = [[]]

    init(_ patterns: [String]) {
        for (index, pattern) in patterns.enumerated() {
            var state = 0
            for byte in pattern.lowercased().utf8 {
                if goto[state][Int(byte)] < 0 {
                    goto.append([Int32](repeating: -1, count: 256))
                    fail.append(0)
                    output.append([])
                    goto[state][Int(byte)] = Int32(goto.count - 1)
                }
                state = Int(goto[state][Int(byte)])
            }
            output[state].append(index)
        }
        var queue: [Int] = []
        for b in 0..<256 {
            if goto[0][b] < 0 { goto[0][b] = 0 } else { queue.append(Int(goto[0][b])); fail[Int(goto[0][b])] = 0 }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            for b in 0..<256 {
                let t = Int(goto[s][b])
                if t < 0 {
                    goto[s][b] = goto[Int(fail[s])][b]
                } else {
                    fail[t] = goto[Int(fail[s])][b]
                    output[t] += output[Int(fail[t])]
                    queue.append(t)
                }
            }
        }
    }

    /// Calls `visit` with the index of every pattern found in `bytes` (compared lower-cased), in
    /// the order they end; `visit` returns false to stop.
    func forEachMatch(in bytes: some Sequence<UInt8>, _ visit: (Int) -> Bool) {
        var state = 0
        forEachMatch(in: bytes, from: &state, visit)
    }

    /// The same, resuming from `state` and leaving it where the bytes end, so that a text
    /// arriving in chunks is matched as one (a pattern split across two chunks is found).
    func forEachMatch(in bytes: some Sequence<UInt8>, from state: inout Int, _ visit: (Int) -> Bool) {
        for var byte in bytes {
            if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
            state = Int(goto[state][Int(byte)])
            for hit in output[state] where !visit(hit) { return }
        }
    }
}
