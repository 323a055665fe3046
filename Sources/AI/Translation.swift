/// Machine translation, whatever engine does it. Every result says it is machine translation
/// and which engine made it: offline engines give the gist, not a clinical translation.
package protocol Translator: Sendable {
    var engine: String { get }
    /// The language pairs it translates, BCP 47 tags.
    func pairs() async throws -> [LanguagePair]
    /// Each of `texts`, in order, in one call of the engine (a page of messages at once).
    func translate(_ texts: [String], from source: String, to target: String) async throws -> [Translation]
}

extension Translator {
    package func translate(_ text: String, from source: String, to target: String) async throws -> Translation {
        guard let one = try await translate([text], from: source, to: target).first else {
            throw EngineError.failed(engine: engine, reason: "it gave no translation")
        }
        return one
    }
}

package struct LanguagePair: Sendable, Equatable, Hashable, Codable {
    package let source: String
    package let target: String
    package init(source: String, target: String) {
        self.source = source
        self.target = target
    }
}

package struct Translation: Sendable, Equatable {
    package let text: String
    package let source: String
    package let target: String
    package let engine: String
    package init(text: String, source: String, target: String, engine: String) {
        self.text = text
        self.source = source
        self.target = target
        self.engine = engine
    }

    /// The label shown beside every translated text, in the API and on the pages.
    package var label: String {
        "Machine translation by \(engine). It can be wrong, most of all on medical terms: check anything important with your care team or a professional interpreter."
    }
}

extension [LanguagePair] {
    /// The pair for `source` → `target`, matching `en` to `en-US` when only that is installed.
    package func match(_ source: String, _ target: String) -> LanguagePair? {
        func same(_ a: String, _ b: String) -> Bool {
            let a = a.lowercased()
            let b = b.lowercased()
            return a == b || a.split(separator: "-").first == b.split(separator: "-").first
        }
        return first { $0.source.lowercased() == source.lowercased() && $0.target.lowercased() == target.lowercased() }
            ?? first { same($0.source, source) && same($0.target, target) }
    }
}
