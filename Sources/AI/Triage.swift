import Foundation
import Kernel

/// The red-flag layer: it runs on every message a person writes to the assistant, before
/// anything else, and again on any answer. It finds emergencies (chest pain, stroke signs,
/// breathing difficulty, severe bleeding, anaphylaxis, suicidal thoughts or self-harm, sepsis
/// signs, and the other conditions below) and requests the assistant must not answer (a
/// diagnosis, a prescription or a dose, attempts to talk it out of its rules), in English and
/// Spanish, through typos ("chest pian", "cant breath") and run-together words ("chestpain").
///
/// It is rules, not a model: each rule is groups of words that must all be in one sentence
/// (any order), each word matched exactly, as a stem (`bleed*`), or within one or two edits for
/// longer words. It leans to escalating: a false alarm costs a minute; a missed one can cost a
/// life. `Resources/triage-eval.jsonl` is its evaluation set, written before the rules were
/// tuned; docs/ai-evaluation.md reports it.
package struct Triage: Sendable {
    package enum Verdict: Sendable, Equatable {
        /// An emergency: answer with the emergency advice and flag the conversation for staff.
        case emergency(String)
        /// A request to refuse: diagnosis, prescription or dosing, manipulation.
        case refuse(String)
        case clear
    }

    struct Rule: Sendable {
        let condition: String
        let groups: [[[String]]]
    }

    let emergencies: [Rule]
    let refusals: [Rule]

    /// The rules, compiled once.
    package static let shared = Triage()

    package init() {
        emergencies = Self.emergencyRules.map(Self.rule)
        refusals = Self.refusalRules.map(Self.rule)
    }

    /// The evaluation set that ships with the rules: (text, label, condition) per line of
    /// `Resources/triage-eval.jsonl`, labels `red_flag`, `benign` and `unsafe`.
    package static func evaluationSet() throws -> [(text: String, label: String, condition: String?)] {
        guard let url = Bundle.module.url(forResource: "triage-eval", withExtension: "jsonl") else { return [] }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let object = try JSON.parse(String(line)).objectValue, let text = object["text"]?.stringValue, let label = object["label"]?.stringValue else { return nil }
            return (text, label, object["condition"]?.stringValue)
        }
    }

    package func assess(_ text: String) -> Verdict {
        let sentences = Self.sentences(text)
        for rule in emergencies where sentences.contains(where: { Self.matches(rule, $0) }) { return .emergency(rule.condition) }
        for rule in refusals where sentences.contains(where: { Self.matches(rule, $0) }) { return .refuse(rule.condition) }
        return .clear
    }

    /// The emergency number of the practice's country (999 in the UK, 112 in Ireland and most
    /// of Europe, 911 in the US and Canada).
    package static func emergencyNumber(region: String) -> String {
        switch region.uppercased() {
        case "GB", "UK": "999"
        case "US", "CA", "MX": "911"
        default: "112"
        }
    }

    // MARK: Matching

    /// Each sentence as normalised tokens: lower case, accents folded, `can't` → `cant`.
    static func sentences(_ text: String) -> [[String]] {
        // invisible format characters (zero-width spaces and joiners) would split a word
        let visible = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .format }))
        let folded = visible.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: Locale(identifier: "en")).lowercased()
        return folded.split(whereSeparator: { ".!?;\n¿¡".contains($0) }).map { sentence in
            var tokens: [String] = []
            for raw in sentence.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "'" && $0 != "’" }) {
                let word = raw.replacingOccurrences(of: "’", with: "'")
                // can't, won't, don't, isn't → cant, wont, dont, isnt; I'm → i m is left as i'm
                tokens.append(word.replacingOccurrences(of: "n't", with: "nt").replacingOccurrences(of: "'", with: ""))
            }
            return tokens
        }
    }

    static func matches(_ rule: Rule, _ tokens: [String]) -> Bool {
        rule.groups.allSatisfy { group in group.contains { phrase in contains(phrase, in: tokens) } }
    }

    /// Whether `phrase` (words in order) is in `tokens`, or, for a phrase of several words,
    /// run together in one token ("chestpain").
    static func contains(_ phrase: [String], in tokens: [String]) -> Bool {
        guard !phrase.isEmpty, tokens.count >= 1 else { return false }
        if phrase.count > 1 {
            let joined = phrase.map { $0.replacingOccurrences(of: "*", with: "") }.joined()
            if tokens.contains(where: { $0 == joined || ($0.count >= joined.count && $0.hasPrefix(joined) && phrase.last!.hasSuffix("*")) }) { return true }
        }
        guard tokens.count >= phrase.count else { return false }
        for start in 0...(tokens.count - phrase.count) where zip(phrase, tokens[start...]).allSatisfy({ word($0, $1) }) { return true }
        return false
    }

    /// `pattern` against one token: `stem*` as a prefix (within one edit from 6 letters); a word
    /// of 5 letters or more within one edit (two from 9) with the same first letter, so a typo
    /// still matches; shorter words exactly.
    static func word(_ pattern: String, _ token: String) -> Bool {
        if pattern.hasSuffix("*") {
            let stem = pattern.dropLast()
            if token.hasPrefix(stem) { return true }
            return stem.count >= 6 && token.first == stem.first && token.count >= stem.count && distance(String(stem), String(token.prefix(stem.count))) <= 1
        }
        if pattern == token { return true }
        // (a typo seldom changes the first letter, and requiring it keeps "never" from "fever")
        guard pattern.count >= 5, abs(pattern.count - token.count) <= 2, pattern.first == token.first else { return false }
        return distance(pattern, token) <= (pattern.count >= 9 ? 2 : 1)
    }

    /// Damerau–Levenshtein distance (adjacent swaps count as one edit: "pian" for "pain").
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    /// "a b|c d" → [["a","b"],["c","d"]]
    static func rule(_ r: (String, [String])) -> Rule {
        Rule(condition: r.0, groups: r.1.map { group in group.split(separator: "|").map { $0.split(separator: " ").map(String.init) } })
    }

    // MARK: The rules (each group: alternatives separated by |; all groups in one sentence)

    static let emergencyRules: [(String, [String])] = [
        ("chest_pain", ["chest|pecho|chestpain", "pain|pian|hurt*|ache*|tight*|pressure|heavy|crushing|clutch*|dolor|duele|opresion|chestpain|sharp"]),
        ("chest_pain", ["heart attack|ataque al corazon|infarto|cardiac arrest"]),
        ("stroke", ["face|cara|lado de la cara", "droop*|lopsided|cayo|caido|caida"]),
        ("stroke", ["slur*|jumbled|garbled", "speech|speach|words|talk*|hablar"]),
        ("stroke", ["sudden*|suddenly|repente|de repente", "numb*|weak*|cant lift|cant move|no puedo mover|lost vision|vision|confus*|paraly*"]),
        ("stroke", ["stroke|derrame|ictus"]),
        ("stroke", ["worst headache|thunderclap"]),
        ("stroke", ["weak arm|arm weak*|weak leg"]),
        ("breathing", ["cant|cannot|struggling|trouble|hard|hardly|difficulty|dificultad|no puedo|falta|gasping|catch", "breath*|breathe|breathing|respir*|aire"]),
        ("breathing", ["short|shortness", "breath*"]),
        ("breathing", ["lips|labios|face", "blue|morados|azul*|grey|gray"]),
        ("breathing", ["choking|gasping|atragant*|asfixi*"]),
        ("breathing", ["inhaler|inhalador", "not helping|isnt helping|no ayuda|no funciona|hardly speak"]),
        (
            "bleeding",
            ["bleed*|bled|bleding|blood|sangr*|hemorrag*", "stop|wont|heavy|heavily|lot|spurt*|mucho|para|vomit*|coughing|cough*|stool|faint|soaked|pregnant|embarazada"]
        ),
        ("bleeding", ["vomit*|vomito|coughing|tosiendo", "blood|sangre"]),
        ("anaphylaxis", ["anaphyla*|anafila*|epipen|epi pen|adrenalin*"]),
        ("anaphylaxis", ["throat|garganta|tongue|tounge|lengua|lips|labios|face|cara", "swell*|swollen|closing|tight*|hinch*|cerrando"]),
        ("anaphylaxis", ["allergic|alergic*|alergia", "reaction|reaccion|swallow|tragar|breath*"]),
        ("anaphylaxis", ["hives|ronchas", "swallow|breath*|throat|tragar"]),
        ("suicide_self_harm", ["suicid*|sucid*|suicidal|kill myself|end my life|ending my life|take my life|quitarme la vida|matarme|suicidarme"]),
        ("suicide_self_harm", ["kill|end|ending|hurt*|harm*|cutting|cut", "myself|my life|mi vida"]),
        ("suicide_self_harm", ["want|wanna|quiero|wish", "die|dead|morir|morirme"]),
        ("suicide_self_harm", ["dont want|no quiero", "alive|live|living|vivir|viviendo|seguir"]),
        ("suicide_self_harm", ["better off", "without me"]),
        ("suicide_self_harm", ["overdose|sobredosis"]),
        ("suicide_self_harm", ["on purpose|a proposito|deliberately", "pills|tablets|pastillas|took|tome|dano|harm|cut"]),
        ("suicide_self_harm", ["dano|lastimo", "proposito|mismo|misma"]),
        ("sepsis", ["sepsis|septic*|septicemia|septicaemia"]),
        ("sepsis", ["fever|temperature|fiebre|temperatura", "confus*|mottled|shiver*|escalofr*|floppy|wont wake|unwell|rash|drowsy"]),
        ("sepsis", ["mottled|moteada"]),
        ("sepsis", ["rash|sarpullido|manchas", "fade|glass|vaso|desaparece"]),
        ("sepsis", ["infect*|infectad*", "fast heart*|heart racing|going to die|confus*|fever"]),
        ("meningitis", ["stiff|rigid*", "neck|cuello", "fever|light|rash|fiebre|luz"]),
        ("seizure", ["seizure*|seizing|fitting|convuls*|convulsion*|epileptic fit"]),
        ("unconscious", ["unconscious|unresponsive|not responding|no responde|desmay*|collapsed|inconsciente|not breathing|isnt breathing|no respira|passed out"]),
        ("poisoning", ["swallowed|drank|bebio|trago|ate|se tomo|se bebio", "tablets|pills|bleach|pastillas|poison*|detergent|batter*|lejia|veneno|medicine|medicina"]),
        ("poisoning", ["took|taken|tomo|tome", "all my|too many|double|accidentally|by mistake|por error|todas|whole bottle|whole packet|demasiad*"]),
        ("poisoning", ["poison*|envenen*|intoxic*"]),
        ("head_injury", ["hit|banged|crash|fell|fall|golpe*|cai", "head|neck|cabeza|cuello", "vomit*|drowsy|cant feel|confus*|unconscious|hurts|sleepy|somnolien*"]),
        ("abdominal", ["severe|terrible|rigid|worst|unbearable|fuerte", "belly|abdomen|stomach|abdominal|testicle|tummy|barriga|estomago|testiculo"]),
        ("diabetic", ["blood sugar|sugar|glucose|azucar|glucosa|hypo", "confus*|shaky|sweaty|low|faint|drowsy|1|2"]),
        ("burns", ["burn*|burnt|scald*|quemadura|queme|quemado", "whole|skin|peeling|boiling|large|face|blister*"]),
    ]

    static let refusalRules: [(String, [String])] = [
        ("diagnosis", ["diagnos*|diagnostic*"]),
        ("diagnosis", ["what|which|que|cual|tell me", "illness|disease|enfermedad|condition|padecimiento"]),
        ("diagnosis", ["do i have|have i got|tengo|dime si tengo|is this|is it", "cancer|diabetes|covid|hiv|illness|disease|infection|shingles|measles|enfermedad|tumor|tumour"]),
        ("prescription", ["prescribe me|give me a prescription|recetame|write me a prescription|prescribe some"]),
        ("prescription", ["what dose|which dose|how much|how many|cuantas|cuanto|que dosis", "should i take|can i take|to take|puedo tomar|debo tomar|to get"]),
        ("prescription", ["should i stop|stop taking|dejar de tomar|deberia dejar"]),
        ("prescription", ["double my|doble dosis|extra dose|more than prescribed"]),
        ("prescription", ["which antibiotic|buy online|sin receta|without a prescription"]),
        ("manipulation", ["ignore your|ignore previous|ignore all|pretend you are|act as my doctor|you are my doctor|change my medication|olvida tus instrucciones"]),
    ]
}
