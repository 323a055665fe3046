import Kernel

/// The AI services' part of the configuration: which engine does each capability, and the
/// limits every call is held to. Offline engines are the default; `off` switches a capability
/// off (its routes then answer 503 saying so).
package struct AIConfiguration: Sendable, Equatable {
    package enum SpeechEngine: String, Sendable, CaseIterable {
        case espeak = "espeak-ng"
        case off
    }
    package enum TranslationEngine: String, Sendable, CaseIterable { case apertium, off }
    package enum RecognitionEngine: String, Sendable, CaseIterable { case tesseract, off }

    package var speech = SpeechEngine.espeak
    package var translation = TranslationEngine.apertium
    package var recognition = RecognitionEngine.tesseract
    /// The longest text spoken or translated in one call, in characters.
    package var textLimit = 5000
    /// The largest image read in one call.
    package var imageBytes = 20 << 20
    /// How long one engine call may take before it is stopped.
    package var timeout: Duration = .seconds(30)
    /// Calls of one engine that run at once, and that may wait beyond those.
    package var concurrency = 2
    package var queueLimit = 16

    package init() {}

    /// `HEALTHHUB_AI_SPEECH` (`espeak-ng` or `off`), `HEALTHHUB_AI_TRANSLATION` (`apertium` or
    /// `off`), `HEALTHHUB_AI_OCR` (`tesseract` or `off`), `HEALTHHUB_AI_TEXT_LIMIT` (characters,
    /// 100-50000, default 5000), `HEALTHHUB_AI_IMAGE_MB` (1-50, default 20),
    /// `HEALTHHUB_AI_TIMEOUT` (seconds, 1-600, default 30), `HEALTHHUB_AI_CONCURRENCY` (1-16,
    /// default 2) and `HEALTHHUB_AI_QUEUE` (0-1000, default 16).
    package mutating func read(_ settings: Settings) -> [String] {
        var problems: [String] = []
        func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ into: inout E) where E.RawValue == String {
            guard let text = settings.value(nil, name) else { return }
            if let value = E(rawValue: text.lowercased()) {
                into = value
            } else {
                problems.append("HEALTHHUB_\(name) must be one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        func number(_ name: String, _ range: ClosedRange<Int>, _ apply: (Int) -> Void) {
            guard let text = settings.value(nil, name) else { return }
            if let n = Int(text), range.contains(n) { apply(n) } else { problems.append("HEALTHHUB_\(name) must be \(range.lowerBound)-\(range.upperBound)") }
        }
        choice("AI_SPEECH", &speech)
        choice("AI_TRANSLATION", &translation)
        choice("AI_OCR", &recognition)
        number("AI_TEXT_LIMIT", 100...50000) { textLimit = $0 }
        number("AI_IMAGE_MB", 1...50) { imageBytes = $0 << 20 }
        number("AI_TIMEOUT", 1...600) { timeout = .seconds($0) }
        number("AI_CONCURRENCY", 1...16) { concurrency = $0 }
        number("AI_QUEUE", 0...1000) { queueLimit = $0 }
        return problems
    }
}
