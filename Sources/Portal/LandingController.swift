import Foundation
import Gateway
import HTTPTypes
import Hummingbird

/// `/`: what HealthHub is and where to go: sign in, the API, the status page. Public, and
/// about no one. `?lang=` chooses the language and keeps it in the `hh_lang` cookie (a
/// preference, not a credential: HttpOnly, SameSite=Lax).
package struct LandingController: Sendable {
    static let templates = try! PageTemplates(folder: Bundle.module.url(forResource: "Templates", withExtension: nil)!)
    static let languageCookie = "hh_lang"

    package init() {}

    package func register(on routes: RouteTable) {
        routes.publicRoutes.get("/") { request, _ in
            let choice = request.uri.queryParameters["lang"].map(String.init)
            let language = Catalogue.negotiate(choice: choice ?? request.cookies[Self.languageCookie]?.value, acceptLanguage: request.headers[.acceptLanguage])
            var response = HTMLPage.response(Catalogue.bundled.text("landing.title", language), try Self.render(language: language), language: language)
            if let choice, Catalogue.languages.contains(choice.lowercased()) {
                response.headers[values: .setCookie].append(Self.languageSetCookie(language))
            }
            return response
        }
    }

    /// The language preference cookie: a choice, not a credential (HttpOnly, SameSite=Lax).
    static func languageSetCookie(_ language: String) -> String {
        "\(languageCookie)=\(language); Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
    }

    /// The page body in `language`.
    package static func render(language: String) throws -> String {
        let t = { (key: String) in Catalogue.bundled.text(key, language) }
        let languages: [[String: Any]] = Catalogue.languages.map { code in
            ["code": code, "name": Catalogue.bundled.text("language.name", code), "current": code == language]
        }
        return try templates.render(
            "landing",
            [
                "lead": t("landing.lead"), "signin": t("landing.signin"), "signinNote": t("landing.signin.note"),
                "developers": t("landing.developers"), "api": t("landing.api"), "smart": t("landing.smart"),
                "status": t("landing.status"), "languageLabel": t("landing.language"), "languages": languages,
            ])
    }
}
