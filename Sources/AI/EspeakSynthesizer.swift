import Foundation

/// espeak-ng (Debian `espeak-ng`): every language it has, formant voices, milliseconds per
/// sentence. The text goes in on standard input with SSML off, so markup in it is read out,
/// never obeyed. OGG is WAV encoded by `oggenc` (Debian `vorbis-tools`) when it is installed.
package struct EspeakSynthesizer: SpeechSynthesizer {
    package let engine = "espeak-ng"
    let timeout: Duration
    /// The voices, read once from `espeak-ng --voices`.
    private let catalogue = Cached<[Voice]>()

    package init(timeout: Duration = .seconds(20)) {
        self.timeout = timeout
    }

    static let install = "install the Debian package espeak-ng (scripts/run does)"

    package func voices() async throws -> [Voice] {
        try await catalogue.value {
            let out = try await EngineProcess(program: "espeak-ng", arguments: ["--voices"], engine: engine, install: Self.install)
                .run(input: [], timeout: timeout, outputLimit: 1 << 20)
            return Self.parseVoices(String(decoding: out, as: UTF8.self))
        }
    }

    package func synthesize(_ request: SpeechRequest) async throws -> Audio {
        let voice = try (try await voices()).choose(request)
        let wav = try await EngineProcess(
            program: "espeak-ng", arguments: ["--stdin", "--stdout", "-v", voice.id, "-s", String(request.rate)], engine: engine, install: Self.install
        ).run(input: Array(request.text.utf8), timeout: timeout, outputLimit: 64 << 20)
        guard wav.starts(with: Array("RIFF".utf8)) else { throw EngineError.failed(engine: engine, reason: "it gave no WAV audio") }
        return try await Audio.encoded(wav, as: request.format, engine: engine, voice: voice.id, timeout: timeout)
    }

    /// `espeak-ng --voices` lines: `Pty Language Age/Gender VoiceName File Other`. The voice id
    /// is the language column (what `-v` takes); languages are BCP 47 with a capital region;
    /// `Other` gives the voice's rank for other tags, `(en 2)(en-gb 3)`. An id listed twice
    /// (Cantonese and its Jyutping variant) is kept once: `-v` reaches only the first.
    static func parseVoices(_ text: String) -> [Voice] {
        var seen = Set<String>()
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, seen.insert(String(fields[1])).inserted else { return nil }
            let id = String(fields[1])
            var rank: [String: Int] = [:]
            for part in fields.dropFirst(5).joined(separator: " ").split(separator: ")") {
                let pair = part.trimmingCharacters(in: CharacterSet(charactersIn: "( ")).split(separator: " ")
                if pair.count == 2, let n = Int(pair[1]) { rank[pair[0].lowercased()] = n }
            }
            return Voice(id: id, language: bcp47(id), name: fields[3].replacingOccurrences(of: "_", with: " "), rank: rank)
        }
    }

    /// `en-gb` → `en-GB`, `es-419` → `es-419`, `en-us-nyc` → `en-US-nyc`.
    static func bcp47(_ id: String) -> String {
        let parts = id.split(separator: "-").map(String.init)
        return parts.enumerated().map { i, p in i == 1 && p.count == 2 ? p.uppercased() : p }.joined(separator: "-")
    }
}
