import Foundation
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
    package enum TranscriptionEngine: String, Sendable, CaseIterable { case whisper, off }
    package enum NaturalVoice: String, Sendable, CaseIterable { case piper, off }

    package var speech = SpeechEngine.espeak
    package var translation = TranslationEngine.apertium
    package var recognition = RecognitionEngine.tesseract
    package var transcription = TranscriptionEngine.whisper
    package var naturalVoice = NaturalVoice.piper
    /// The Python of the engines' venv (faster-whisper, Piper), which scripts/run creates.
    package var python = FileManager.default.currentDirectoryPath + "/.venv-engines/bin/python"
    /// The longest audio transcribed in one call, and its largest file.
    package var audioSeconds = 300
    package var audioBytes = 25 << 20
    /// The practice's country, for the emergency number the red-flag layer gives (999 GB,
    /// 112 IE and the rest of Europe, 911 US).
    package var emergencyRegion = "GB"
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
    /// default 2), `HEALTHHUB_AI_QUEUE` (0-1000, default 16), `HEALTHHUB_AI_TRANSCRIPTION`
    /// (`whisper` or `off`), `HEALTHHUB_AI_NATURAL_VOICE` (`piper` or `off`),
    /// `HEALTHHUB_AI_PYTHON` (the engines' Python; default `.venv-engines/bin/python` in the
    /// working folder), `HEALTHHUB_AI_AUDIO_SECONDS` (1-3600, default 300) and
    /// `HEALTHHUB_AI_AUDIO_MB` (1-200, default 25), `HEALTHHUB_EMERGENCY_REGION` (GB by default).
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
        choice("AI_TRANSCRIPTION", &transcription)
        choice("AI_NATURAL_VOICE", &naturalVoice)
        if let path = settings.value(nil, "AI_PYTHON") {
            if path.hasPrefix("/") { python = path } else { problems.append("HEALTHHUB_AI_PYTHON must be an absolute path") }
        }
        number("AI_AUDIO_SECONDS", 1...3600) { audioSeconds = $0 }
        number("AI_AUDIO_MB", 1...200) { audioBytes = $0 << 20 }
        if let region = settings.value(nil, "EMERGENCY_REGION") {
            if region.count == 2, region.allSatisfy(\.isLetter) {
                emergencyRegion = region.uppercased()
            } else {
                problems.append("HEALTHHUB_EMERGENCY_REGION must be a two-letter country code (GB, IE, US)")
            }
        }
        number("AI_TEXT_LIMIT", 100...50000) { textLimit = $0 }
        number("AI_IMAGE_MB", 1...50) { imageBytes = $0 << 20 }
        number("AI_TIMEOUT", 1...600) { timeout = .seconds($0) }
        number("AI_CONCURRENCY", 1...16) { concurrency = $0 }
        number("AI_QUEUE", 0...1000) { queueLimit = $0 }
        return problems
    }
}
