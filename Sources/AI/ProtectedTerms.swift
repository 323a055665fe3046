import Foundation

/// What a translation must leave as it is: numbers with their units (`500 mg`, `2.5 mL`,
/// `1,000 mg`, `37.5 °C`, `120/80 mmHg`), times and dates in figures, and medication names
/// (the list in `Resources/protected-terms.txt`, which an operator's list can extend). The
/// engine is given these as spans it must not touch.
package struct ProtectedTerms: Sendable {
    let names: Set<String>

    package init(names: Set<String>) { self.names = Set(names.map { $0.lowercased() }) }

    /// The list that ships with HealthHub.
    package static let bundled: ProtectedTerms = {
        let url = Bundle.module.url(forResource: "protected-terms", withExtension: "txt")
        let text = url.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        return ProtectedTerms(names: Set(names))
    }()

    /// A number (with thousands separators or a decimal part, ranges and ratios) and the unit
    /// after it, if any.
    static let quantity: NSRegularExpression = {
        let units = [
            "mg/kg", "mg/dL", "mg/dl", "mmol/L", "mmol/l", "mmHg", "mcg", "µg", "μg", "mg", "kg", "g", "mL", "ml", "L", "l", "IU", "units", "unit",
            "%", "°C", "°F", "bpm", "cm", "mm", "m", "h", "hrs", "hours", "min", "tablets", "tablet", "puffs", "puff", "drops", "mEq",
        ]
        let unit = units.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|")
        let number = #"\d+(?:[.,:]\d+)*(?:\s?[-–/]\s?\d+(?:[.,]\d+)*)?"#
        return try! NSRegularExpression(pattern: #"(?<![\w.])"# + number + #"(?:\s?(?:"# + unit + #")(?![\w]))?"#)
    }()

    /// The ranges of `text` to keep, in order and not overlapping.
    package func spans(in text: String) -> [Range<String.Index>] {
        var found: [Range<String.Index>] = []
        let ns = NSRange(text.startIndex..., in: text)
        for match in Self.quantity.matches(in: text, range: ns) {
            if let r = Range(match.range, in: text) { found.append(r) }
        }
        // Medication names: whole words (letters, digits, hyphens) found in the list.
        var i = text.startIndex
        while i < text.endIndex {
            guard text[i].isLetter else {
                i = text.index(after: i)
                continue
            }
            var j = i
            while j < text.endIndex, text[j].isLetter || text[j].isNumber || text[j] == "-" { j = text.index(after: j) }
            if names.contains(text[i..<j].lowercased()) { found.append(i..<j) }
            i = j
        }
        found.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<String.Index>] = []
        for r in found {
            if let last = merged.last, r.lowerBound < last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }
}
