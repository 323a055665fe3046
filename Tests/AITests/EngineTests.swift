import AI
import Foundation
import Telemetry
import Testing

/// The offline engines themselves, run for real (scripts/test installs them).
@Suite struct EngineTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    @Test func espeakHasEveryLanguageAndSpeaksWAV() async throws {
        let speech = EspeakSynthesizer()
        let voices = try await speech.voices()
        #expect(voices.count >= 100)
        #expect(voices.contains { $0.id == "en-gb" && $0.language == "en-GB" })
        #expect(voices.contains { $0.id == "es" })
        #expect(Set(voices.map(\.id)).count == voices.count)
        // plain "en" is British English (espeak-ng ranks it first for en), not the Caribbean voice first in the alphabet
        #expect(try voices.choose(SpeechRequest(text: "x", language: "en")).id == "en-gb")
        #expect(try voices.choose(SpeechRequest(text: "x", language: "en-US")).id == "en-us")
        let text = "Your next appointment is on Monday the fourteenth of March at half past ten in the morning, room four, with doctor Patel at the clinic."
        let normal = try await speech.synthesize(SpeechRequest(text: text, language: "en-GB"))
        #expect(normal.contentType == "audio/wav" && normal.voice == "en-gb")
        let wav = try WAV(normal.bytes)
        #expect(wav.sampleRate == 22050 && wav.channels == 1)
        // the header's sizes are the file's (espeak-ng writing to a pipe leaves them at 2 GB)
        #expect(wav.riffSize == normal.bytes.count - 8 && wav.dataSize == normal.bytes.count - 44)
        // 25 words at 160 words a minute: about 9 s of speech
        #expect((6.0...14.0).contains(wav.seconds))
        let fast = try WAV(try await speech.synthesize(SpeechRequest(text: text, language: "en-GB", rate: 320)).bytes)
        #expect(fast.seconds < wav.seconds * 0.7)
        // a NUL no longer ends the text: all of it is spoken
        let cut = try WAV(try await speech.synthesize(SpeechRequest(text: "hi\u{0}there, how are you today", language: "en")).bytes)
        #expect(cut.seconds > 1.2)
        let ogg = try await speech.synthesize(SpeechRequest(text: "Hello", language: "en", format: .ogg))
        #expect(ogg.contentType == "audio/ogg" && ogg.bytes.starts(with: Array("OggS".utf8)))
        // a language tag with a region falls back to the language's voice
        #expect(try await speech.synthesize(SpeechRequest(text: "Hola, ¿cómo está?", language: "es-MX")).voice.hasPrefix("es"))
    }

    @Test func voiceChoiceFollowsTheRequestOrSaysWhatIsThere() throws {
        let voices = [
            Voice(id: "en", language: "en", name: "English"), Voice(id: "en-gb", language: "en-GB", name: "English (GB)"), Voice(id: "es", language: "es", name: "Spanish"),
        ]
        #expect(try voices.choose(SpeechRequest(text: "x", language: "en-GB")).id == "en-gb")
        #expect(try voices.choose(SpeechRequest(text: "x", language: "en-AU")).id == "en")
        #expect(try voices.choose(SpeechRequest(text: "x", language: "xx", voice: "ES")).id == "es")
        #expect(throws: EngineError.self) { try voices.choose(SpeechRequest(text: "x", language: "fr")) }
        #expect(throws: EngineError.self) { try voices.choose(SpeechRequest(text: "x", language: "en", voice: "nope")) }
    }

    @Test func apertiumTranslatesAndKeepsDosesUnitsAndMedicationNames() async throws {
        let translator = ApertiumTranslator()
        let pairs = try await translator.pairs()
        #expect(pairs.contains(LanguagePair(source: "en", target: "es")))
        #expect(pairs.contains(LanguagePair(source: "es", target: "en")))
        let text = "Take 500 mg of amoxicillin three times a day for 7 days. Metformin 1,000 mg twice daily, and 2.5 mL of Calpol at 8 pm. Blood pressure 120/80 mmHg."
        let result = try await translator.translate(text, from: "en", to: "es")
        #expect(result.engine == "apertium" && result.source == "en" && result.target == "es")
        for kept in ["500 mg", "amoxicillin", "Metformin", "1,000 mg", "2.5 mL", "Calpol", "120/80 mmHg", "7"] {
            #expect(result.text.contains(kept), "\(kept) is missing from: \(result.text)")
        }
        #expect(result.text.contains("días") && result.text.contains("Toma"))
        #expect(result.label.contains("Machine translation by apertium"))
        // back again, and markup is text, not instructions
        let back = try await translator.translate("Tome 20 mg de omeprazol <b>cada</b> mañana & noche.", from: "es", to: "en")
        #expect(back.text.contains("20 mg") && back.text.contains("omeprazol") && back.text.contains("<b>") && back.text.contains("&"))
        await #expect(throws: EngineError.self) { try await translator.translate("hello", from: "en", to: "xx") }
    }

    @Test func protectedSpansCoverQuantitiesAndNamesOnly() {
        let terms = ProtectedTerms(names: ["warfarin"])
        let text = "Warfarin 5 mg, 37.5 °C, 1,000 mg/kg; take 2 tablets at 10:30 not warfarinx."
        let spans = terms.spans(in: text).map { String(text[$0]) }
        #expect(spans == ["Warfarin", "5 mg", "37.5 °C", "1,000 mg/kg", "2 tablets", "10:30"])
    }

    @Test func tesseractReadsAPrintedPage() async throws {
        let image = try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent("prescription.png")))
        let ocr = TesseractRecognizer()
        #expect(try await ocr.languages().contains("eng"))
        let result = try await ocr.recognize(image, language: "eng")
        #expect(result.text == "Take 2 tablets of paracetamol 500 mg every 6 hours.\n\nNext appointment: 14 March at 10:30, Room 4.")
        #expect(result.words == 18)
        #expect((result.confidence ?? 0) > 85)
        await #expect(throws: EngineError.invalid("The image is not PNG, JPEG, TIFF, BMP or PNM")) { try await ocr.recognize(Array("not an image".utf8), language: "eng") }
        await #expect(throws: EngineError.self) { try await ocr.recognize(image, language: "../../etc/passwd") }
        #expect(ImageFormat.dimensions(of: image)! == (1400, 260))
        // a small file declaring a huge image is refused before Tesseract starts
        var bomb = image
        for (i, b) in [0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x75, 0x30].enumerated() { bomb[16 + i] = UInt8(b) }
        await #expect(throws: EngineError.tooLarge("The image is 30000 × 30000 pixels; the most read at once is 50 million")) {
            try await ocr.recognize(bomb, language: "eng")
        }
    }

    @Test func aProgramThatRunsTooLongIsStoppedAndAMissingOneIsNamed() async throws {
        // A program that would run two minutes is stopped at the limit. (The bound is wide on
        // purpose: this is whether it was killed, not how fast; under the full suite's load the
        // limit's own timer has waited 20 s for a thread.)
        let slow = EngineProcess(program: "sleep", arguments: ["120"], engine: "sleep", install: "-")
        let started = ContinuousClock.now
        await #expect(throws: EngineError.timedOut(engine: "sleep", seconds: 0)) { try await slow.run(input: [], timeout: .milliseconds(300), outputLimit: 10) }
        #expect(ContinuousClock.now - started < .seconds(60))
        let missing = EngineProcess(program: "no-such-engine-here", arguments: [], engine: "ghost", install: "install ghost")
        await #expect(throws: EngineError.unavailable(engine: "ghost", install: "install ghost")) { try await missing.run(input: [], timeout: .seconds(1), outputLimit: 10) }
        let failing = EngineProcess(program: "sh", arguments: ["-c", "echo broken >&2; exit 3"], engine: "sh", install: "-")
        await #expect(throws: EngineError.failed(engine: "sh", reason: "exited(3)")) { try await failing.run(input: [], timeout: .seconds(5), outputLimit: 10) }
        let chatty = EngineProcess(program: "sh", arguments: ["-c", "yes | head -c 100000"], engine: "sh", install: "-")
        await #expect(throws: EngineError.tooLarge("The result would be too large for one answer; send less at once")) {
            try await chatty.run(input: [], timeout: .seconds(5), outputLimit: 10)
        }
    }

    @Test func theGateRunsSomeQueuesSomeAndRefusesTheRest() async throws {
        let telemetry = Telemetry()
        let gate = EngineGate(capability: "test", engine: "hold", concurrency: 1, queueLimit: 1, telemetry: telemetry)
        let release = AsyncStream<Void>.makeStream()
        let first = Task {
            try await gate.run {
                for await _ in release.stream { break }; return 1
            }
        }
        while await gate.load.running == 0 { await Task.yield() }
        let second = Task { try await gate.run { 2 } }
        while await gate.load.waiting == 0 { await Task.yield() }
        await #expect(throws: EngineError.busy(engine: "hold", retryAfter: 2)) { try await gate.run { 3 } }
        release.continuation.yield()
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
        #expect(await gate.load == (0, 0))
        let metrics = String(decoding: telemetry.exposition(), as: UTF8.self)
        #expect(metrics.contains(#"healthhub_ai_engine_calls_total{capability="test",engine="hold",outcome="busy"} 1"#))
        #expect(metrics.contains(#"healthhub_ai_engine_calls_total{capability="test",engine="hold",outcome="ok"} 2"#))
    }
}

/// The header of a PCM WAV file.
struct WAV {
    let sampleRate: Int
    let channels: Int
    let seconds: Double
    let riffSize: Int
    let dataSize: Int

    init(_ bytes: [UInt8]) throws {
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        guard bytes.count > 44, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WAVE".utf8) else {
            throw EngineError.failed(engine: "test", reason: "not a WAV file")
        }
        riffSize = u32(4)
        dataSize = Array(bytes[36..<40]) == Array("data".utf8) ? u32(40) : -1
        channels = u16(22)
        sampleRate = u32(24)
        let bytesPerSecond = u32(28)
        seconds = Double(bytes.count - 44) / Double(max(bytesPerSecond, 1))
    }
}
