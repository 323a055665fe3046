import AI
import Foundation
import Kernel
import Testing

/// The Python engines in their long-lived workers (scripts/test creates .venv-engines), closed
/// loop: text → speech (espeak-ng, Piper) → faster-whisper → text.
@Suite struct WorkerTests {
    static let python = ProcessInfo.processInfo.environment["HEALTHHUB_AI_PYTHON"] ?? FileManager.default.currentDirectoryPath + "/.venv-engines/bin/python"

    static func services() -> AIServices {
        var c = AIConfiguration()
        c.python = python
        return AIServices(configuration: c, telemetry: nil)
    }

    /// Words that differ, over the reference's words, after the usual normalisation of
    /// speech-to-text scoring (case and punctuation aside, contractions expanded, number words
    /// as figures: whisper writes "15" for "fifteen" and "you're" for "you are").
    static func wordErrorRate(_ reference: String, _ heard: String) -> Double {
        let numbers = [
            "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
            "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20", "thirty": "30",
        ]
        let contractions = [("n't", " not"), ("'re", " are"), ("'s", " is"), ("'ll", " will"), ("'m", " am"), ("'ve", " have"), ("'d", " would")]
        func words(_ s: String) -> [String] {
            s.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "'" }.flatMap { word -> [String] in
                var w = String(word)
                if let (ending, expansion) = contractions.first(where: { w.hasSuffix($0.0) }) { w = String(w.dropLast(ending.count)) + expansion }
                return w.split(separator: " ").map { numbers[String($0)] ?? String($0) }
            }
        }
        let r = words(reference)
        let h = words(heard)
        guard !r.isEmpty else { return h.isEmpty ? 0 : 1 }
        var row = Array(0...h.count)
        for i in 1...r.count {
            var next = [i] + Array(repeating: 0, count: h.count)
            for j in stride(from: 1, through: h.count, by: 1) {
                next[j] = min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
            }
            row = next
        }
        return Double(row[h.count]) / Double(r.count)
    }

    /// Eight sentences of the kind a clinic says (about 130 words): Piper's voice varies from
    /// run to run, so one short sentence would make a noisy measure.
    static let sentences = [
        "Please arrive fifteen minutes before your appointment and bring a list of your medicines.",
        "The doctor will see you on Tuesday morning to talk about your blood pressure and your sleep.",
        "If the pain in your chest gets worse or you feel short of breath, call for help at once.",
        "Your blood test results are normal and there is nothing you need to do.",
        "Take one tablet every morning with a glass of water after breakfast.",
        "The nurse will call you tomorrow afternoon to check how you are feeling.",
        "Keep the wound clean and dry, and change the dressing every second day.",
        "You can book, move or cancel your appointments in the patient portal.",
    ]

    @Test func piperAndEspeakSpeechIsHeardBackByWhisper() async throws {
        let ai = Self.services()
        defer { Task { await ai.shutdown() } }
        var espeakErrors = 0.0
        var piperErrors = 0.0
        for sentence in Self.sentences {
            let formant = try await ai.speak(SpeechRequest(text: sentence, language: "en-US"))
            #expect(formant.engine == "espeak-ng")
            let natural = try await ai.speak(SpeechRequest(text: sentence, language: "en-US", voice: "en-us-joe"))
            #expect(natural.engine == "piper" && natural.bytes.starts(with: Array("RIFF".utf8)))
            let heardFormant = try await ai.transcribe(formant.bytes, language: "en", prompt: nil)
            let heardNatural = try await ai.transcribe(natural.bytes, language: "en", prompt: nil)
            #expect(heardNatural.language == "en" && heardNatural.engine == "faster-whisper" && heardNatural.duration > 2)
            #expect(!heardNatural.segments.isEmpty && heardNatural.segments.allSatisfy { $0.end >= $0.start })
            espeakErrors += Self.wordErrorRate(sentence, heardFormant.text)
            piperErrors += Self.wordErrorRate(sentence, heardNatural.text)
        }
        let espeakWER = espeakErrors / Double(Self.sentences.count)
        let piperWER = piperErrors / Double(Self.sentences.count)
        #expect(espeakWER <= 0.20, "espeak-ng → whisper WER \(espeakWER)")
        #expect(piperWER <= 0.05, "Piper → whisper WER \(piperWER)")
    }

    @Test func aWorkerThatDiesFailsItsRequestAndIsStartedAgain() async throws {
        let worker = EngineWorker(engine: "piper", program: Self.python, arguments: [Self.workerScript, "piper"], install: "-")
        let first = try await worker.call(["op": "ping"], timeout: .seconds(60))
        #expect(first["ok"] == .bool(true))
        let pid = try #require(await worker.pid)
        kill(pid, SIGKILL)
        // the next request finds the process gone and starts a new one
        var answered = false
        for _ in 0..<3 where !answered {
            do {
                answered = try await worker.call(["op": "ping"], timeout: .seconds(60))["ok"] == .bool(true)
            } catch let error as EngineError {
                guard case .failed = error else { throw error }
            }
        }
        #expect(answered)
        let second = try #require(await worker.pid)
        #expect(second != pid)
        // bad requests get clean errors and the worker goes on
        await #expect(throws: EngineError.invalid("unknown operation nonsense")) { try await worker.call(["op": "nonsense"], timeout: .seconds(10)) }
        #expect(await worker.pid == second)
        await worker.stop()
    }

    @Test func transcriptionRefusesWhatIsNotAudioOrTooLong() async throws {
        var c = AIConfiguration()
        c.python = Self.python
        c.audioSeconds = 2
        let ai = AIServices(configuration: c, telemetry: nil)
        defer { Task { await ai.shutdown() } }
        await #expect(throws: EngineError.invalid("The audio is not WAV, OGG, MP3 or WebM")) { try await ai.transcribe(Array("hello".utf8), language: nil, prompt: nil) }
        let long = try await ai.speak(SpeechRequest(text: Self.sentences[0], language: "en"))
        await #expect(throws: EngineError.self) { try await ai.transcribe(long.bytes, language: nil, prompt: nil) }
        // a missing Python says what to install
        var missing = AIConfiguration()
        missing.python = "/nonexistent/python"
        let none = AIServices(configuration: missing, telemetry: nil)
        await #expect(throws: EngineError.self) { try await none.transcribe(long.bytes, language: nil, prompt: nil) }
        let status = await none.status()
        #expect(status.first { $0.capability == "transcription" }?.detail.hasPrefix("faster-whisper: missing") == true)
    }

    static var workerScript: String {
        // the same script the services use, from the AI module's resources
        AIServices.workerScriptPath
    }
}
