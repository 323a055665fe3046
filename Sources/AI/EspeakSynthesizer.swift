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
        ).run(input: Array(Self.speakable(request.text).utf8), timeout: timeout, outputLimit: 64 << 20)
        guard wav.starts(with: Array("RIFF".utf8)) else { throw EngineError.failed(engine: engine, reason: "it gave no WAV audio") }
        return try await Audio.encoded(Self.sized(wav), as: request.format, engine: engine, voice: voice.id, timeout: timeout)
    }

    /// The text with control characters (a NUL ends espeak-ng's input) as spaces.
    static func speakable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control && $0 != "\n" ? " " : $0 }))
    }

    /// espeak-ng writing to a pipe cannot go back to fill in the sizes, and leaves 2 GB in the
    /// RIFF and data headers; strict players and parsers take that at its word. Set them to
    /// the file's own.
    static func sized(_ wav: [UInt8]) -> [UInt8] {
        var out = wav
        func put(_ value: Int, at offset: Int) {
            for i in 0..<4 { out[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        guard out.count >= 44 else { return out }
        put(out.count - 8, at: 4)
        // the chunks after "WAVE": find "data" and give it what follows it
        var at = 12
        while at + 8 <= out.count {
            let size = Int(out[at + 4]) | Int(out[at + 5]) << 8 | Int(out[at + 6]) << 16 | Int(out[at + 7]) << 24
            if Array(out[at..<at + 4]) == Array("data".utf8) {
                put(out.count - at - 8, at: at + 4)
                break
            }
            at += 8 + size
        }
        return out
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
