/// The WAF's body rules over a body that arrives in chunks, with no buffer of its own: the
/// automaton's state is carried from chunk to chunk. Each byte is matched twice, as sent and
/// with JSON string escapes decoded (`\u003cscript\u003e` is `<script>`, `\u0024{jndi:` is
/// `${jndi:`), since FHIR bodies are JSON and the stored value is the decoded one.
package struct BodyScanner: Sendable {
    let waf: WAF
    private var raw = 0
    private var decoded = 0
    private var unescaper = JSONUnescaper()
    /// The strongest counted match so far (blocks end the scan at once).
    private var counted: WAF.Verdict?
    private var allowed = false

    package init(waf: WAF) {
        self.waf = waf
    }

    /// Scans the next chunk; a block verdict as soon as a blocking pattern is complete.
    package mutating func feed(_ chunk: some Collection<UInt8>) -> WAF.Verdict? {
        guard waf.configuration.enabled, !allowed, let (set, owners) = waf.sets[.body] else { return nil }
        var best: WAF.Rule?
        let visit: (Int) -> Bool = { hit in
            let rule = waf.rules[owners[hit].rule]
            if WAF.strength(rule.action) > best.map({ WAF.strength($0.action) }) ?? -1 { best = rule }
            return rule.action != .allow
        }
        set.forEachMatch(in: chunk, from: &raw, visit)
        if best?.action != .block {
            var plain: [UInt8] = []
            plain.reserveCapacity(chunk.count)
            for byte in chunk { unescaper.feed(byte, into: &plain) }
            set.forEachMatch(in: plain, from: &decoded, visit)
        }
        guard let best else { return nil }
        switch best.action {
        case .block: return waf.matched(best.id, .block)
        case .allow: allowed = true; return nil
        case .count:
            if counted == nil { counted = waf.matched(best.id, .count) }
            return nil
        }
    }

    /// The counted match of the whole body, if any (for the log).
    package var countedMatch: WAF.Verdict? { counted }
}

/// JSON string escapes decoded byte by byte (`\uXXXX`, `\"`, `\\`, `\/`; `\n`, `\t` and the
/// other whitespace escapes become a space), with at most five bytes of pending state. Bytes
/// outside escapes pass unchanged.
struct JSONUnescaper: Sendable {
    private enum State: Sendable {
        case plain, backslash
        case unicode(digits: Int, value: UInt32)
    }
    private var state = State.plain

    mutating func feed(_ byte: UInt8, into out: inout [UInt8]) {
        switch state {
        case .plain:
            if byte == UInt8(ascii: "\\") { state = .backslash } else { out.append(byte) }
        case .backslash:
            state = .plain
            switch byte {
            case UInt8(ascii: "u"): state = .unicode(digits: 0, value: 0)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
            case UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"): out.append(0x20)
            default: out.append(contentsOf: [UInt8(ascii: "\\"), byte])
            }
        case .unicode(let digits, let value):
            guard let v = WAF.hex(byte) else {
                state = .plain
                out.append(byte)
                return
            }
            let next = value << 4 | UInt32(v)
            if digits < 3 {
                state = .unicode(digits: digits + 1, value: next)
                return
            }
            state = .plain
            if let scalar = Unicode.Scalar(next) { out.append(contentsOf: Array(String(Character(scalar)).utf8)) } else { out.append(UInt8(ascii: "?")) }
        }
    }
}
