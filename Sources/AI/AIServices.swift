import Foundation
import Telemetry

/// The AI capabilities as the rest of HealthHub uses them: each one's engine behind its gate,
/// with the input limits checked before any engine runs. A capability that is switched off or
/// whose engine is missing answers `EngineError.unavailable`; nothing here can stop the server.
package struct AIServices: Sendable {
    package let configuration: AIConfiguration
    let speech: Engine<any SpeechSynthesizer>?
    let translation: Engine<any Translator>?
    let recognition: Engine<any TextRecognizer>?
    let transcription: Engine<any Transcriber>?
    /// The long-lived workers, stopped at shutdown.
    let workers: [EngineWorker]

    /// An engine and the gate every call of it goes through.
    struct Engine<Implementation: Sendable>: Sendable {
        let implementation: Implementation
        let gate: EngineGate
    }

    package init(configuration: AIConfiguration, telemetry: Telemetry?) {
        self.configuration = configuration
        func gate(_ capability: String, _ engine: String) -> EngineGate {
            EngineGate(capability: capability, engine: engine, concurrency: configuration.concurrency, queueLimit: configuration.queueLimit, telemetry: telemetry)
        }
        let install = "run scripts/run, which creates the engines' Python venv (.venv-engines), or set HEALTHHUB_AI_PYTHON"
        func worker(_ name: String, _ kind: String) -> EngineWorker {
            EngineWorker(engine: name, program: configuration.python, arguments: [Self.workerScriptPath, kind], install: install)
        }
        let piper = configuration.naturalVoice == .piper ? worker("piper", "piper") : nil
        switch configuration.speech {
        case .espeak:
            // Piper takes about 2 ms a character on two cores, several times that under load: room
            // for the longest text allowed, on top of the usual limit
            let natural = piper.map { PiperSynthesizer(worker: $0, timeout: configuration.timeout + .milliseconds(20 * configuration.textLimit)) }
            let e = SpeechVoices(formant: EspeakSynthesizer(timeout: configuration.timeout), natural: natural)
            speech = Engine(implementation: e, gate: gate("speech", e.engine))
        case .off: speech = nil
        }
        let whisper = configuration.transcription == .whisper ? worker("faster-whisper", "whisper") : nil
        transcription = whisper.map { w in
            // never slower than real time: the longest audio allowed, on top of the usual limit
            Engine(
                implementation: WhisperTranscriber(worker: w, timeout: configuration.timeout + .seconds(configuration.audioSeconds)),
                gate: gate("transcription", "faster-whisper"))
        }
        workers = [piper, whisper].compactMap { $0 }
        switch configuration.translation {
        case .apertium:
            let e = ApertiumTranslator(timeout: configuration.timeout)
            translation = Engine(implementation: e, gate: gate("translation", e.engine))
        case .off: translation = nil
        }
        switch configuration.recognition {
        case .tesseract:
            let e = TesseractRecognizer(timeout: configuration.timeout)
            recognition = Engine(implementation: e, gate: gate("ocr", e.engine))
        case .off: recognition = nil
        }
    }

    static func off(_ capability: String, _ setting: String) -> EngineError {
        .unavailable(engine: capability, install: "it is switched off on this server (HEALTHHUB_\(setting))")
    }

    // MARK: Speech

    package func voices() async throws -> [Voice] {
        guard let speech else { throw Self.off("speech", "AI_SPEECH") }
        return try await speech.implementation.voices()
    }

    package func speak(_ request: SpeechRequest) async throws -> Audio {
        guard let speech else { throw Self.off("speech", "AI_SPEECH") }
        try checkText(request.text)
        guard SpeechRequest.rates.contains(request.rate) else {
            throw EngineError.invalid("rate must be \(SpeechRequest.rates.lowerBound)-\(SpeechRequest.rates.upperBound) words a minute")
        }
        return try await speech.gate.run { try await speech.implementation.synthesize(request) }
    }

    // MARK: Translation

    package func languagePairs() async throws -> (engine: String, pairs: [LanguagePair]) {
        guard let translation else { throw Self.off("translation", "AI_TRANSLATION") }
        return (translation.implementation.engine, try await translation.implementation.pairs())
    }

    package func translate(_ text: String, from source: String, to target: String) async throws -> Translation {
        guard let one = try await translate([text], from: source, to: target).first else { throw EngineError.failed(engine: "translation", reason: "no answer") }
        return one
    }

    /// Several texts in one engine call: each within the text limit, ten times that in all.
    package func translate(_ texts: [String], from source: String, to target: String) async throws -> [Translation] {
        guard let translation else { throw Self.off("translation", "AI_TRANSLATION") }
        for text in texts { try checkText(text) }
        guard texts.reduce(0, { $0 + $1.count }) <= 10 * configuration.textLimit else {
            throw EngineError.tooLarge("the texts are over \(10 * configuration.textLimit) characters together")
        }
        return try await translation.gate.run { try await translation.implementation.translate(texts, from: source, to: target) }
    }

    /// The worker script inside the AI module's resources.
    package static let workerScriptPath = Bundle.module.url(forResource: "engine_worker", withExtension: "py", subdirectory: "Workers")?.path ?? "engine_worker.py"

    // MARK: Transcription

    package func transcribe(_ audio: [UInt8], language: String?, prompt: String?) async throws -> Transcript {
        guard let transcription else { throw Self.off("transcription", "AI_TRANSCRIPTION") }
        guard audio.count <= configuration.audioBytes else {
            throw EngineError.tooLarge("The audio is over \(configuration.audioBytes >> 20) MB (HEALTHHUB_AI_AUDIO_MB)")
        }
        if let prompt, prompt.count > 500 { throw EngineError.tooLarge("prompt is \(prompt.count) characters; the limit is 500") }
        return try await transcription.gate.run {
            try await transcription.implementation.transcribe(audio, language: language, prompt: prompt, maxSeconds: configuration.audioSeconds)
        }
    }

    /// Stops the long-lived workers (at shutdown, and in tests).
    package func shutdown() async {
        for w in workers { await w.stop() }
    }

    // MARK: Text recognition

    package func recognitionLanguages() async throws -> [String] {
        guard let recognition else { throw Self.off("ocr", "AI_OCR") }
        return try await recognition.implementation.languages()
    }

    package func recognize(_ image: [UInt8], language: String) async throws -> RecognizedText {
        guard let recognition else { throw Self.off("ocr", "AI_OCR") }
        guard image.count <= configuration.imageBytes else {
            throw EngineError.tooLarge("The image is over \(configuration.imageBytes >> 20) MB (HEALTHHUB_AI_IMAGE_MB)")
        }
        return try await recognition.gate.run { try await recognition.implementation.recognize(image, language: language) }
    }

    func checkText(_ text: String) throws {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw EngineError.invalid("text is empty") }
        guard text.count <= configuration.textLimit else {
            throw EngineError.tooLarge("text is \(text.count) characters; the limit is \(configuration.textLimit) (HEALTHHUB_AI_TEXT_LIMIT)")
        }
    }

    // MARK: Readiness

    /// One line per capability for `/ready`: the engine and whether it answers. These never
    /// fail readiness (an instance without an optional engine still serves everything else).
    package func status() async -> [(capability: String, detail: String)] {
        func probe(_ name: String, _ engine: String?, _ check: () async throws -> String) async -> (capability: String, detail: String) {
            guard let engine else { return (name, "off") }
            do { return (name, "\(engine): ready, \(try await check())") } catch let e as EngineError {
                if case .unavailable(_, let install) = e { return (name, "\(engine): missing, \(install)") }
                return (name, "\(engine): not answering")
            } catch { return (name, "\(engine): not answering") }
        }
        return [
            await probe("speech", speech?.implementation.engine) { "\(try await voices().count) voices" },
            await probe("translation", translation?.implementation.engine) { "\(try await languagePairs().pairs.count) language pairs" },
            await probe("ocr", recognition?.implementation.engine) { "\(try await recognitionLanguages().count) languages" },
            await probe("transcription", transcription?.implementation.engine) {
                guard workers.contains(where: { $0.engine == "faster-whisper" && $0.installed }) else {
                    throw EngineError.unavailable(engine: "faster-whisper", install: "run scripts/run, which creates .venv-engines, or set HEALTHHUB_AI_PYTHON")
                }
                return "starts on first use"
            },
        ]
    }
}
