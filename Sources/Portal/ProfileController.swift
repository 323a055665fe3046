import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import Mail

/// The patient's own settings in the portal: the profile (email, mobile number, address, the
/// language of the pages, and how HealthHub may tell them of appointments and messages), kept
/// on their Patient record through the API's update under their own access; and the connected
/// apps (the SMART applications they authorised for lasting access, with the scopes), each with
/// a button that ends its access at once.
package struct ProfileController: Sendable {
    let kit: PageKit
    let identity: IdentityServices

    package init(kit: PageKit, identity: IdentityServices) {
        self.kit = kit
        self.identity = identity
    }

    package func register(on routes: RouteTable) {
        let pages = routes.signedIn
        pages.get("portal/profile") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { try await profile($0, $1) } }
        pages.post("portal/profile") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { try await save($0, $1) } }
        pages.get("portal/apps") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, _ in try await apps(v) } }
        pages.post("portal/apps/:family/revoke") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, p in try await revoke(v, p) } }
    }

    static let doneKeys: Set<String> = ["profile.saved", "apps.revoked"]

    // MARK: Profile

    /// What the form shows and takes.
    struct Fields {
        var email = ""
        var mobile = ""
        var line = ""
        var city = ""
        var postalCode = ""
        var language = "en"
        var byEmail = true
        var bySMS = false

        init(patient: JSON) {
            let contact = PatientContact(patient: patient)
            email = contact.email ?? ""
            mobile = contact.mobile ?? ""
            byEmail = contact.wantsEmail
            bySMS = contact.wantsSMS
            let address = patient["address"]?.arrayValue?.first
            line = (address?["line"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
            city = address?["city"]?.stringValue ?? ""
            postalCode = address?["postalCode"]?.stringValue ?? ""
            language = Self.preferredLanguage(patient) ?? "en"
        }

        init(form: PageForm) {
            email = form["email"] ?? ""
            mobile = form["mobile"] ?? ""
            line = form["line"] ?? ""
            city = form["city"] ?? ""
            postalCode = form["postalCode"] ?? ""
            language = form["language"] ?? "en"
            byEmail = form["byEmail"] == "1"
            bySMS = form["bySMS"] == "1"
        }

        /// The Patient's preferred language, when it is one the pages speak.
        static func preferredLanguage(_ patient: JSON) -> String? {
            let languages = patient["communication"]?.arrayValue ?? []
            let preferred = languages.first { $0["preferred"]?.boolValue == true } ?? languages.first
            let code = preferred?["language"]?["coding"]?.arrayValue?.first?["code"]?.stringValue?.lowercased().prefix(2)
            return code.map(String.init).flatMap { Catalogue.languages.contains($0) ? $0 : nil }
        }

        /// The catalogue key of what is wrong with the form, or nil.
        var problem: String? {
            if !email.isEmpty && !Mail.isAddress(email) { return "profile.badEmail" }
            if !mobile.isEmpty && SMSClient.number(mobile) == nil { return "profile.badMobile" }
            if bySMS && mobile.isEmpty { return "profile.smsNeedsMobile" }
            if byEmail && email.isEmpty { return "profile.emailNeedsAddress" }
            if [line, city, postalCode].contains(where: { $0.count > 200 }) || !Catalogue.languages.contains(language) { return "error.title" }
            return nil
        }

        /// The Patient with these contact details and choices; everything else kept as it was.
        func applied(to patient: JSONObject) -> JSONObject {
            var p = patient
            var telecom = (p["telecom"]?.arrayValue ?? []).filter { t in
                let system = t["system"]?.stringValue
                return system != "email" && system != "sms" && !(system == "phone" && t["use"]?.stringValue == "mobile")
            }
            if !email.isEmpty { telecom.insert(["system": "email", "value": .string(email)], at: 0) }
            if let number = SMSClient.number(mobile) { telecom.append(["system": "phone", "use": "mobile", "value": .string(number)]) }
            p["telecom"] = telecom.isEmpty ? nil : .array(telecom)
            var addresses = p["address"]?.arrayValue ?? []
            var first = addresses.first?.objectValue ?? ["use": "home"]
            first["line"] = line.isEmpty ? nil : [.string(line)]
            first["city"] = city.isEmpty ? nil : .string(city)
            first["postalCode"] = postalCode.isEmpty ? nil : .string(postalCode)
            first["text"] = nil
            let empty = first.keys.allSatisfy { $0 == "use" }
            if addresses.isEmpty { if !empty { addresses = [.object(first)] } } else { addresses[0] = .object(first) }
            if empty && addresses.count == 1 { addresses = [] }
            p["address"] = addresses.isEmpty ? nil : .array(addresses)
            var others = (p["communication"]?.arrayValue ?? []).filter {
                $0["language"]?["coding"]?.arrayValue?.first?["code"]?.stringValue?.lowercased().prefix(2) != Substring(language)
            }
            others = others.map { c in
                var o = c.objectValue ?? [:]
                o["preferred"] = nil
                return .object(o)
            }
            p["communication"] = .array(
                [["language": ["coding": [["system": "urn:ietf:bcp:47", "code": .string(language)]]], "preferred": true]] + others)
            var extensions = (p["extension"]?.arrayValue ?? []).filter { $0["url"]?.stringValue != PatientContact.choicesURL }
            extensions.append(PatientContact(email: nil, mobile: nil, wantsEmail: byEmail, wantsSMS: bySMS).choices)
            p["extension"] = .array(extensions)
            return p
        }
    }

    func strings(_ visit: PageKit.Visit) -> [String: String] {
        visit.strings(
            "profile",
            ["lead", "contact", "email", "mobile", "mobileHelp", "address", "line", "city", "postalCode", "language", "notify", "notifyLead", "byEmail", "bySMS", "save"])
    }

    func profile(_ visit: PageKit.Visit, _ patient: String, fields given: Fields? = nil, problem: String? = nil, version formVersion: Int? = nil) async throws -> Response {
        try await kit.audited(visit) { record in
            record.patients = ["Patient/\(patient)"]
            let current = try await kit.service.read("Patient", patient, access: kit.access(visit))
            let fields = try given ?? Fields(patient: current.content.map { try JSON.parse($0) } ?? .null)
            var values: [String: Any] = [
                "t": strings(visit), "email": fields.email, "mobile": fields.mobile, "line": fields.line, "city": fields.city, "postalCode": fields.postalCode,
                "byEmail": fields.byEmail, "bySMS": fields.bySMS, "version": String(formVersion ?? current.version),
                "languages": Catalogue.languages.map { ["code": $0, "name": Catalogue.bundled.text("language.name", $0), "selected": $0 == fields.language] },
            ]
            if let problem { values["flash"] = ["text": visit.t(problem), "bad": true] } else if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
            return try await kit.page(
                visit, title: visit.t("profile.title"), template: "portal-profile", values: values, section: "/portal/profile", status: problem == nil ? .ok : .badRequest)
        }
    }

    func save(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        let form = try await PageForm.read(visit.request)
        let fields = Fields(form: form)
        let version = form["version"].flatMap(Int.init)
        if let problem = fields.problem { return try await profile(visit, patient, fields: fields, problem: problem, version: version) }
        return try await kit.audited(visit, action: .update) { record in
            record.patients = ["Patient/\(patient)"]
            let access = kit.access(visit)
            let current = try await kit.service.read("Patient", patient, access: access)
            guard let content = current.content, let object = try JSON.parse(content).objectValue else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            // The version the form was filled in on: a change made meanwhile (by the practice,
            // in another tab) is not overwritten without being seen.
            guard version == current.version else { return try await profile(visit, patient, problem: "profile.changed") }
            _ = try await kit.service.update(
                fields.applied(to: object), type: "Patient", id: patient, ifMatch: current.version, access: access, audit: kit.record(visit, .update, "update"))
            var response = PageKit.redirect("/portal/profile", done: "profile.saved")
            response.headers[values: .setCookie].append(LandingController.languageSetCookie(fields.language))
            return response
        }
    }

    // MARK: Connected apps

    func apps(_ visit: PageKit.Visit) async throws -> Response {
        let connections = try await identity.grants.connections(userID: visit.principal.subject)
        var rows: [[String: Any]] = []
        for c in connections {
            let name = try await identity.clients.find(c.clientID)?.name ?? c.clientID
            rows.append([
                "family": c.family, "name": name, "scopes": c.scope.tokens.joined(separator: " "),
                "since": kit.when(Self.iso(c.since), visit), "lastUsed": kit.when(Self.iso(c.lastUsed), visit),
            ])
        }
        var values: [String: Any] = ["t": visit.strings("apps", ["lead", "name", "scopes", "since", "lastUsed", "revoke", "none"]), "apps": rows]
        if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
        return try await kit.page(visit, title: visit.t("apps.title"), template: "portal-apps", values: values, section: "/portal/apps")
    }

    static func iso(_ seconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(seconds)))
    }

    func revoke(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit, action: .execute, interaction: "app-revoke") { record in
            record.patients = ["Patient/\(patient)"]
            guard let family = visit.context.parameters.get("family"), family.count <= 128,
                let client = try await identity.grants.revokeConnection(family: family, userID: visit.principal.subject)
            else { throw FHIRError.notFound("grant", "-") }  // (audited as a failure; the page says "not found")
            record.resources = ["Client/\(client)"]
            return PageKit.redirect("/portal/apps", done: "apps.revoked")
        }
    }
}
