/// Text to speech, whatever engine says it.
package protocol SpeechSynthesizer: Sendable {
    /// The engine's name in answers, errors and metrics (`espeak-ng`, `polly`...).
    var engine: String { get }
    /// The voices it has.
    func voices() async throws -> [Voice]
    /// Audio of `request.text`.
    func synthesize(_ request: SpeechRequest) async throws -> Audio
}

/// One voice: `id` is what a request names; `language` is a BCP 47 tag; `rank` says how good a
/// choice it is for other language tags (lower is better: espeak-ng's `(en 2)`), so a request
/// for plain `en` gets British English rather than the first English voice in the alphabet.
package struct Voice: Sendable, Equatable {
    package let id: String
    package let language: String
    package let name: String
    package let rank: [String: Int]
    package init(id: String, language: String, name: String, rank: [String: Int] = [:]) {
        self.id = id
        self.language = language
        self.name = name
        self.rank = rank
    }
}

package struct SpeechRequest: Sendable, Equatable {
    package enum Format: String, Sendable, CaseIterable { case wav, ogg }
    package var text: String
    /// BCP 47 (`en`, `en-GB`, `es`); used to choose a voice when `voice` is nil.
    package var language: String
    package var voice: String?
    /// Words per minute.
    package var rate: Int
    package var format: Format

    /// The rates every engine accepts (espeak-ng's own range is 80-450).
    package static let rates = 80...400

    package init(text: String, language: String, voice: String? = nil, rate: Int = 160, format: Format = .wav) {
        self.text = text
        self.language = language
        self.voice = voice
        self.rate = rate
        self.format = format
    }
}

package struct Audio: Sendable, Equatable {
    package let bytes: [UInt8]
    package let contentType: String
    package let engine: String
    package let voice: String
    package init(bytes: [UInt8], contentType: String, engine: String, voice: String) {
        self.bytes = bytes
        self.contentType = contentType
        self.engine = engine
        self.voice = voice
    }
}

extension Audio {
    /// WAV as it is, or encoded as OGG Vorbis by `oggenc` (Debian `vorbis-tools`).
    static func encoded(_ wav: [UInt8], as format: SpeechRequest.Format, engine: String, voice: String, timeout: Duration) async throws -> Audio {
        switch format {
        case .wav:
            return Audio(bytes: wav, contentType: "audio/wav", engine: engine, voice: voice)
        case .ogg:
            let ogg = try await EngineProcess(
                program: "oggenc", arguments: ["--quiet", "-o", "-", "-"], engine: "oggenc", install: "install the Debian package vorbis-tools for OGG audio, or ask for WAV"
            ).run(input: wav, timeout: timeout, outputLimit: 64 << 20)
            return Audio(bytes: ogg, contentType: "audio/ogg", engine: engine, voice: voice)
        }
    }
}

extension [Voice] {
    /// The voice `request` asks for: the named one, else the first whose language is the
    /// requested tag, else the first of its primary language (`en-AU` → `en`).
    package func choose(_ request: SpeechRequest) throws -> Voice {
        if let id = request.voice {
            guard let voice = first(where: { $0.id.lowercased() == id.lowercased() }) else {
                throw EngineError.invalid("No voice \"\(id.prefix(40))\"; GET /api/v1/speech/voices lists them")
            }
            return voice
        }
        let tag = request.language.lowercased()
        let primary = tag.split(separator: "-").first.map(String.init) ?? tag
        if let exact = first(where: { $0.language.lowercased() == tag }) { return exact }
        // the voices of that language, best ranked for the tag first (5 where a voice gives no rank)
        let candidates = filter { v in
            let language = v.language.lowercased()
            return language == primary || language.hasPrefix(primary + "-") || v.rank[tag] != nil || v.rank[primary] != nil
        }
        if let best = candidates.enumerated().min(by: { a, b in
            let ra = a.element.rank[tag] ?? a.element.rank[primary] ?? 5
            let rb = b.element.rank[tag] ?? b.element.rank[primary] ?? 5
            return (ra, a.offset) < (rb, b.offset)
        }) {
            return best.element
        }
        throw EngineError.invalid("No voice speaks \"\(request.language.prefix(20))\"; GET /api/v1/speech/voices lists the languages")
    }
}
