import Foundation

/// Apertium (Debian `apertium` and its pair packages such as `apertium-eng-spa`): rule-based,
/// offline, fast, gist quality. The pairs are its installed modes (`apertium -l`). The text goes
/// in as HTML with each protected span (doses, numbers, medication names) inside
/// `<apertium-notrans>`, which the engine passes through untouched; unknown words are left as
/// they are (`-u`), not marked.
package struct ApertiumTranslator: Translator {
    package let engine = "apertium"
    let timeout: Duration
    let protected: ProtectedTerms
    private let modes = Cached<[Mode]>()

    package init(protected: ProtectedTerms = .bundled, timeout: Duration = .seconds(20)) {
        self.protected = protected
        self.timeout = timeout
    }

    static let install = "install the Debian packages apertium and apertium-eng-spa (or another pair; scripts/run does)"

    package func pairs() async throws -> [LanguagePair] { try await installedModes().map(\.pair) }

    package func translate(_ texts: [String], from source: String, to target: String) async throws -> [Translation] {
        let modes = try await installedModes()
        guard let mode = modes.first(where: { $0.pair == modes.map(\.pair).match(source, target) }) else {
            throw EngineError.invalid(
                "No translation from \"\(source.prefix(20))\" to \"\(target.prefix(20))\" here; GET /api/v1/translations/languages lists the pairs")
        }
        // One run for all the texts: each is a block of its own, which ends its sentences.
        let html = texts.map { "<div>" + Self.marked($0, protected.spans(in: $0)) + "</div>" }.joined()
        let out = try await EngineProcess(program: "apertium", arguments: ["-u", "-f", "html-noent", mode.name], engine: engine, install: Self.install)
            .run(input: Array(html.utf8), timeout: timeout, outputLimit: 8 * html.utf8.count + 4096)
        let blocks = Self.blocks(String(decoding: out, as: UTF8.self))
        guard blocks.count == texts.count else { throw EngineError.failed(engine: engine, reason: "it gave \(blocks.count) texts for \(texts.count)") }
        return blocks.map {
            Translation(text: Self.unmarked($0).trimmingCharacters(in: .whitespacesAndNewlines), source: mode.pair.source, target: mode.pair.target, engine: engine)
        }
    }

    /// The contents of the `<div>` blocks of Apertium's output, in order.
    static func blocks(_ html: String) -> [String] {
        html.components(separatedBy: "</div>").dropLast().map { part in
            guard let open = part.range(of: "<div>") else { return part }
            return String(part[open.upperBound...])
        }
    }

    /// `text` as the HTML Apertium reads: escaped, with every protected span wrapped.
    static func marked(_ text: String, _ spans: [Range<String.Index>]) -> String {
        var out = ""
        var at = text.startIndex
        for span in spans {
            out += escape(text[at..<span.lowerBound])
            out += "<apertium-notrans>" + escape(text[span]) + "</apertium-notrans>"
            at = span.upperBound
        }
        out += escape(text[at...])
        // Line breaks would be lost as HTML whitespace: keep them as <br>.
        return out.replacingOccurrences(of: "\n", with: "<br>")
    }

    /// Apertium's HTML back to text.
    static func unmarked(_ html: String) -> String {
        html.replacingOccurrences(of: "<apertium-notrans>", with: "").replacingOccurrences(of: "</apertium-notrans>", with: "")
            .replacingOccurrences(of: "<br>", with: "\n")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ s: Substring) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    struct Mode: Sendable {
        let name: String
        let pair: LanguagePair
    }

    private func installedModes() async throws -> [Mode] {
        try await modes.value {
            let out = try await EngineProcess(program: "apertium", arguments: ["-l"], engine: engine, install: Self.install)
                .run(input: [], timeout: timeout, outputLimit: 1 << 20)
            return Self.parseModes(String(decoding: out, as: UTF8.self))
        }
    }

    /// `apertium -l` lines (`eng-spa`, `spa-eng_US`) as pairs of BCP 47 tags; modes that are
    /// not plain translations (`-morph`, `-tagger`...) and languages without a tag here are left out.
    static func parseModes(_ text: String) -> [Mode] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let name = line.trimmingCharacters(in: .whitespaces)
            let parts = name.split(separator: "-")
            guard parts.count == 2 else { return nil }
            let targetParts = parts[1].split(separator: "_")
            guard let source = languageTags[String(parts[0])], let target = languageTags[String(targetParts[0])] else { return nil }
            let region = targetParts.count > 1 ? "-" + targetParts[1] : ""
            return Mode(name: name, pair: LanguagePair(source: source, target: target + region))
        }
    }

    /// ISO 639-3 (Apertium's codes) and the older two-letter pair names to BCP 47.
    static let languageTags: [String: String] = [
        "eng": "en", "en": "en", "spa": "es", "es": "es", "cat": "ca", "ca": "ca", "glg": "gl", "gl": "gl", "epo": "eo", "eo": "eo",
        "eus": "eu", "eu": "eu", "isl": "is", "is": "is", "mkd": "mk", "mk": "mk", "hbs": "sh", "fra": "fr", "por": "pt", "ita": "it",
        "deu": "de", "nld": "nl", "nob": "nb", "nno": "nn", "swe": "sv", "dan": "da", "oci": "oc", "arg": "an", "ast": "ast",
    ]
}
