import Events
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import NIOCore

/// What every signed-in page shares: its templates, the language it answers in, the frame
/// (navigation by role, the account, the language switch, sign-out), dates in the practice's
/// time zone and the reader's language, and the audit record of a page view.
///
/// Pages read and write only through `FHIRService` with the principal of the session, so a page
/// reaches exactly what the same person's token would; the page view is then audited once, as
/// `page-view` with the page's path and every patient whose data it showed.
package struct PageKit: Sendable {
    static let templates = try! PageTemplates(folder: Bundle.module.url(forResource: "Templates", withExtension: nil)!)
    let service: FHIRService
    /// The event log, whose head each page gives its live-updates socket to start from.
    let events: EventLog
    let timeZone: TimeZone
    /// The FHIR API's public base URL (nil: from the request's Host), for operations' `fullUrl`s.
    let publicBaseURL: String?

    package init(service: FHIRService, events: EventLog, timeZone: TimeZone, publicBaseURL: String?) {
        self.service = service
        self.events = events
        self.timeZone = timeZone
        self.publicBaseURL = publicBaseURL
    }

    /// One page request: who asks, in which language.
    struct Visit {
        let request: Request
        let context: IdentifiedRequestContext
        let language: String
        /// Set when the request chose a language (`?lang=`): kept in the `hh_lang` cookie.
        let chosen: Bool

        var principal: Principal { context.principal }
        var csrf: String { context.session?.csrf ?? "" }
        func t(_ key: String) -> String { Catalogue.bundled.text(key, language) }
        /// The strings of `keys` under their last part (`appointments.when` → `when`), for a template's `t`.
        func strings(_ prefix: String, _ keys: [String]) -> [String: String] {
            Dictionary(keys.map { ($0, t("\(prefix).\($0)")) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// The visitor's access under the FHIR API's own policy.
    func access(_ visit: Visit) -> RequestAccess { RequestAccess(principal: visit.principal, policy: service.policy) }

    func visit(_ request: Request, _ context: IdentifiedRequestContext) -> Visit {
        let choice = request.uri.queryParameters["lang"].map(String.init)
        let chosen = choice.map { Catalogue.languages.contains($0.lowercased()) } ?? false
        let language = Catalogue.negotiate(
            choice: chosen ? choice : request.cookies[LandingController.languageCookie]?.value, acceptLanguage: request.headers[.acceptLanguage])
        return Visit(request: request, context: context, language: language, chosen: chosen)
    }

    /// A page for one role's accounts only (the portal for patients, the console for
    /// practitioners), with the record the account is linked to; anyone else gets a 403 page.
    func page(
        _ request: Request, _ context: IdentifiedRequestContext, for role: Role, linked: KeyPath<Principal, String?>,
        _ page: (Visit, String) async throws -> Response
    ) async throws -> Response {
        let visit = visit(request, context)
        guard visit.principal.role == role, let linked = visit.principal[keyPath: linked] else {
            // (a caregiver's account whose every proxy access was taken back has no record)
            let key = visit.principal.role == .patient && role == .patient ? "proxies.noRecord" : "error.forbidden"
            return try await problem(visit, .forbidden, visit.t(key))
        }
        return try await page(visit, linked)
    }

    /// An audit record of one FHIR interaction a page makes for the visitor.
    func record(_ visit: Visit, _ action: AuditRecord.Action, _ interaction: String) -> AuditRecord {
        var record = AuditRecord(action: action, interaction: interaction, agent: "anonymous", networkAddress: visit.context.remoteAddress, requestID: visit.context.requestID)
        record.setAgent(visit.principal)
        return record
    }

    /// A page for one role's accounts only that needs no linked record (the admin console,
    /// the audit viewer).
    func page(_ request: Request, _ context: IdentifiedRequestContext, for role: Role, _ page: (Visit) async throws -> Response) async throws -> Response {
        let visit = visit(request, context)
        guard visit.principal.role == role else { return try await problem(visit, .forbidden, visit.t("error.forbidden")) }
        return try await page(visit)
    }

    // MARK: Rendering

    /// The navigation of a principal's role: (path, catalogue key). A proxy acting for someone
    /// does not manage that patient's proxies.
    static func navigation(_ principal: Principal) -> [(String, String)] {
        switch principal.role {
        case .patient:
            [
                ("/portal", "nav.home"), ("/portal/appointments", "nav.appointments"), ("/portal/messages", "nav.messages"), ("/portal/records", "nav.records"),
                ("/portal/download", "nav.download"), ("/portal/profile", "nav.profile"), ("/portal/apps", "nav.apps"),
            ] + (principal.reference.hasPrefix("Patient/") ? [("/portal/proxies", "nav.proxies")] : [])
        case .practitioner: [("/console", "nav.schedule"), ("/console/inbox", "nav.inbox"), ("/console/patients", "nav.patients")]
        case .admin: [("/admin", "nav.users"), ("/admin/clients", "nav.clients"), ("/admin/alarms", "nav.alarms"), ("/status", "nav.status")]
        case .auditor: [("/audit", "nav.audit"), ("/status", "nav.status")]
        case .system: []
        }
    }

    func render(_ template: String, _ values: [String: Any]) throws -> String {
        try Self.templates.render(template, values)
    }

    /// A page in the frame: `section` is the navigation entry to mark as current.
    func page(_ visit: Visit, title: String, template: String, values: [String: Any], section: String, status: HTTPResponse.Status = .ok) async throws -> Response {
        let body = try render(template, values.merging(["csrf": visit.csrf], uniquingKeysWith: { a, _ in a }))
        return try await framed(visit, title: title, body: body, section: section, status: status)
    }

    func framed(_ visit: Visit, title: String, body: String, section: String, status: HTTPResponse.Status = .ok) async throws -> Response {
        let nav: [[String: Any]] = Self.navigation(visit.principal).map { ["href": $0.0, "label": visit.t($0.1), "current": $0.0 == section] }
        let languages: [[String: Any]] = Catalogue.languages.map { ["code": $0, "name": Catalogue.bundled.text("language.name", $0), "current": $0 == visit.language] }
        // live updates are about patients' records: for patients and clinicians (the socket refuses others)
        let live = visit.principal.role == .patient || visit.principal.role == .practitioner
        var frame: [String: Any] = [
            "navLabel": visit.t("frame.nav"), "nav": nav, "email": visit.context.session?.email ?? "", "languages": languages,
            "csrf": visit.csrf, "signOut": visit.t("frame.signout"), "live": live, "liveAfter": live ? String((try? await events.head()) ?? 0) : "",
            "liveText": visit.t("frame.live"), "liveReload": visit.t("frame.reload"),
        ]
        if let record = try await recordShown(visit) { frame["record"] = record }
        let header = try render("header", frame)
        var response = HTMLPage.response(
            title, body, status: status, language: visit.language,
            frame: HTMLPage.Frame(header: header, skipLink: visit.t("frame.skip"), wide: true, scripts: live ? ["live.js"] : []))
        if visit.chosen { response.headers[values: .setCookie].append(LandingController.languageSetCookie(visit.language)) }
        return response
    }

    /// For an account that may show more than one record (a proxy's): whose record the pages
    /// show, and the way to another. Nil for everyone else.
    func recordShown(_ visit: Visit) async throws -> [String: String]? {
        guard visit.principal.role == .patient, let session = visit.context.session, !session.proxyRecords.isEmpty else { return nil }
        var name = ""
        if let patient = visit.principal.patient, let p = try? await service.read("Patient", patient, access: access(visit)), let content = p.content {
            name = (try? JSON.parse(content).objectValue).map(Self.name) ?? ""
        }
        return ["label": visit.t("switch.showing"), "name": name, "switch": visit.t("switch.title")]
    }

    /// A page that says why there is nothing to show (a 403 for another patient's record, a
    /// 404, a refused booking), in the frame.
    func problem(_ visit: Visit, _ status: HTTPResponse.Status, _ text: String) async throws -> Response {
        try await framed(visit, title: visit.t("error.title"), body: render("problem", ["text": text, "back": visit.t("error.back")]), section: "", status: status)
    }

    /// After a form: back to a page, with what happened in the `done` query parameter (a
    /// catalogue key, never data).
    static func redirect(_ path: String, done: String? = nil) -> Response {
        let location = done.map { path + (path.contains("?") ? "&" : "?") + "done=" + $0 } ?? path
        return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// The flash line of a page reached by `redirect(_:done:)`: only known keys are shown.
    func flash(_ visit: Visit, known: Set<String>) -> [String: Any]? {
        guard let done = visit.request.uri.queryParameters["done"].map(String.init), known.contains(done) else { return nil }
        return ["text": visit.t(done), "bad": false]
    }

    // MARK: Audit

    /// Runs a page that shows patient data, audited as a `page-view` (or `page-action` for a
    /// form) of the page's path, naming the patients it showed; a page that fails is audited
    /// with the failure, like an API call.
    func audited(
        _ visit: Visit, action: AuditRecord.Action = .read, interaction: String? = nil, _ body: (inout AuditRecord) async throws -> Response
    ) async throws -> Response {
        var record = self.record(visit, action, interaction ?? (action == .read ? "page-view" : "page-action"))
        record.query = visit.request.uri.path
        do {
            return try await service.audited(record) { record in try await body(&record) }
        } catch let error as FHIRError {
            return try await problem(visit, error.status, Self.explain(error, visit))
        }
    }

    /// What a page says for a refused or failed FHIR interaction: the reason, which names no
    /// patient data (FHIR errors never do).
    static func explain(_ error: FHIRError, _ visit: Visit) -> String {
        switch error.status.code {
        case 403: visit.t("error.forbidden")
        case 404, 410: visit.t("error.notFound")
        default: error.issues.first?.diagnostics ?? visit.t("error.title")
        }
    }

    // MARK: Reading

    /// A search under the visitor's access.
    func search(_ visit: Visit, _ type: String, _ query: String) async throws -> SearchEngine.Result {
        try await service.search(try service.searchRequest(type: type, query: query), access: access(visit))
    }

    /// Invokes a FHIR operation for the visitor, exactly as the API would (and audited so).
    func invoke(_ op: any FHIROperation, id: String? = nil, _ input: [(String, JSON)], _ visit: Visit) async throws -> OperationResult {
        let record = self.record(visit, op.affectsState ? .execute : .read, "operation")
        let base = publicBaseURL ?? "http://\(visit.request.head.authority ?? "localhost")/fhir"
        return try await service.invoke(op, id: id, input: OperationInput(values: input.map { (name: $0.0, value: $0.1) }), access: access(visit), base: base, record: record)
    }

    static func objects(_ versions: [ResourceVersion]) -> [(ResourceVersion, JSONObject)] {
        versions.compactMap { v in v.content.flatMap { try? JSON.parse($0).objectValue }.map { (v, $0) } }
    }

    // MARK: Formatting

    func formatter(_ visit: Visit, date: DateFormatter.Style, time: DateFormatter.Style) -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: visit.language == "es" ? "es_ES" : "en_US")
        f.timeZone = timeZone
        f.dateStyle = date
        f.timeStyle = time
        return f
    }

    /// A FHIR date or dateTime for people: date and time (when it has one) in the practice's
    /// zone and the reader's language; the text as it is when it cannot be read.
    func when(_ text: String?, _ visit: Visit, time: Bool = true) -> String {
        guard let text, let range = DateRange(text) else { return text ?? "" }
        let hasTime = text.contains("T") && time
        if !hasTime && text.count <= 10 {
            // a plain date is a calendar day, not an instant: shown as written, in the reader's style
            let f = formatter(visit, date: .medium, time: .none)
            f.timeZone = .gmt
            return f.string(from: Date(timeIntervalSince1970: Double(range.low) / 1000))
        }
        return formatter(visit, date: .medium, time: hasTime ? .short : .none).string(from: Date(timeIntervalSince1970: Double(range.low) / 1000))
    }

    /// The display text of a CodeableConcept.
    static func text(_ concept: JSON?) -> String {
        if let t = concept?["text"]?.stringValue, !t.isEmpty { return t }
        let coding = concept?["coding"]?.arrayValue?.first
        return coding?["display"]?.stringValue ?? coding?["code"]?.stringValue ?? ""
    }

    /// A person's name: `name[0].text`, or given names and family.
    static func name(_ resource: JSONObject) -> String {
        guard let name = resource["name"]?.arrayValue?.first else { return "" }
        if let text = name["text"]?.stringValue, !text.isEmpty { return text }
        let given = (name["given"]?.arrayValue ?? []).compactMap(\.stringValue)
        return (given + [name["family"]?.stringValue].compactMap { $0 }).joined(separator: " ")
    }

    /// A quantity for people: value and unit, without float noise.
    static func quantity(_ q: JSON?) -> String? {
        guard let value = q?["value"]?.doubleValue else { return nil }
        return [number(value), q?["unit"]?.stringValue ?? q?["code"]?.stringValue].compactMap { $0 }.joined(separator: " ")
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e9 { return String(Int(value)) }
        return String(format: "%.1f", value)
    }
}
