import Foundation
import Kernel

/// Every string the pages show, per language, from `Strings/<code>.json`. A key missing in a
/// language falls back to English, and the tests hold every language to English's keys, so a
/// page never shows a raw key.
package struct Catalogue: Sendable {
    /// The languages HealthHub's pages speak, English first (the fallback).
    package static let languages = ["en", "es"]
    package static let bundled = try! Catalogue(folder: Bundle.module.url(forResource: "Strings", withExtension: nil)!)

    package let strings: [String: [String: String]]

    package init(folder: URL) throws {
        var strings: [String: [String: String]] = [:]
        for code in Self.languages {
            let json = try JSON.parse(try Data(contentsOf: folder.appendingPathComponent("\(code).json")))
            strings[code] = (json.objectValue?.entries ?? []).reduce(into: [:]) { table, entry in table[entry.key] = entry.value.stringValue }
        }
        self.strings = strings
    }

    /// The text of `key` in `language` (English when that language lacks it; the key itself
    /// only for a key no language has, which the tests rule out).
    package func text(_ key: String, _ language: String) -> String {
        strings[language]?[key] ?? strings["en"]?[key] ?? key
    }

    /// The language to answer in: an explicit choice (`?lang=`, then the `hh_lang` cookie) if
    /// HealthHub speaks it, else the best of `Accept-Language` by its q-values, else English.
    package static func negotiate(choice: String?, acceptLanguage: String?) -> String {
        if let choice = choice?.lowercased(), languages.contains(choice) { return choice }
        var best: (code: String, q: Double)?
        for part in (acceptLanguage ?? "").split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = pieces.first?.lowercased(), !tag.isEmpty else { continue }
            let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            let primary = String(tag.split(separator: "-").first ?? "")
            guard q > 0, languages.contains(primary), q > (best?.q ?? 0) else { continue }
            best = (primary, q)
        }
        return best?.code ?? "en"
    }
}
