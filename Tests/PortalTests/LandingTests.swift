import Foundation
import Gateway
import Portal
import TestSupport
import Testing

@Suite struct LandingTests {
    @Test func theLandingPageInEachLanguage() throws {
        for language in Catalogue.languages {
            let body = try LandingController.render(language: language)
            Snapshot.expect(HTMLPage.document(Catalogue.bundled.text("landing.title", language), body, language: language), named: "landing-\(language)")
        }
        let spanish = try LandingController.render(language: "es")
        #expect(spanish.contains("Iniciar sesión"))
        #expect(spanish.contains(#"href="/?lang=es" lang="es" hreflang="es" aria-current="page""#))
        #expect(!spanish.contains("Sign in"))
    }

    @Test func everyLanguageHasEveryKeyOfEnglish() {
        let english = Set(Catalogue.bundled.strings["en"]!.keys)
        #expect(english.count >= 10)
        for language in Catalogue.languages {
            let keys = Set(Catalogue.bundled.strings[language]!.keys)
            #expect(keys == english, "\(language): missing \(english.subtracting(keys).sorted()), extra \(keys.subtracting(english).sorted())")
            #expect(Catalogue.bundled.strings[language]!.values.allSatisfy { !$0.isEmpty })
        }
    }

    @Test func theLanguageIsTheChoiceThenTheBrowsersBestThenEnglish() {
        #expect(Catalogue.negotiate(choice: "es", acceptLanguage: "en") == "es")
        #expect(Catalogue.negotiate(choice: "ES", acceptLanguage: nil) == "es")
        #expect(Catalogue.negotiate(choice: "fr", acceptLanguage: "es-MX,es;q=0.9") == "es")
        #expect(Catalogue.negotiate(choice: nil, acceptLanguage: "fr-CH, fr;q=0.9, es;q=0.8, en;q=0.7") == "es")
        #expect(Catalogue.negotiate(choice: nil, acceptLanguage: "en;q=0.9, es;q=0.5") == "en")
        #expect(Catalogue.negotiate(choice: nil, acceptLanguage: "es;q=0, fr") == "en")
        #expect(Catalogue.negotiate(choice: nil, acceptLanguage: "<script>") == "en")
        #expect(Catalogue.negotiate(choice: nil, acceptLanguage: nil) == "en")
    }
}
