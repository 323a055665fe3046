import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import Messaging
import NIOCore
import Scheduling

/// The patient portal at `/portal`: the dashboard, appointments (find a time, book, cancel, see
/// past ones) through the same `$find`/`$book`/`$cancel` operations as the API, the records with
/// charts, and "download my data" through `Patient/$everything`. Patients only, each to their
/// own record: the session's principal is the patient's, under the API's access policy.
package struct PatientPortalController: Sendable {
    let kit: PageKit
    let kinds: [AppointmentKind]
    let operations: [String: any FHIROperation]
    let messages: MessageCenter

    package init(kit: PageKit, scheduling: SchedulingConfiguration, operations: [any FHIROperation], messages: MessageCenter) {
        self.kit = kit
        self.messages = messages
        self.kinds = scheduling.kinds
        self.operations = Dictionary(operations.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
    }

    package func register(on routes: RouteTable) {
        let pages = routes.signedIn
        pages.get("home") { request, context in try await home(request, context) }
        pages.get("portal") { request, context in try await patientPage(request, context, dashboard) }
        pages.get("portal/appointments") { request, context in try await patientPage(request, context, appointments) }
        pages.post("portal/appointments/book") { request, context in try await patientPage(request, context, book) }
        pages.post("portal/appointments/:id/cancel") { request, context in try await patientPage(request, context, cancel) }
        pages.get("portal/records") { request, context in try await patientPage(request, context, records) }
        pages.get("portal/download") { request, context in try await patientPage(request, context, downloadPage) }
        pages.get("portal/download/record.json") { request, context in try await patientPage(request, context, download) }
    }

    /// Where `/home` (the end of every sign-in) leads: a role's start page.
    func home(_ request: Request, _ context: IdentifiedRequestContext) async throws -> Response {
        switch context.principal.role {
        case .patient: try await patientHome(request, context)
        case .practitioner: PageKit.redirect("/console")
        case .admin: PageKit.redirect("/admin")
        case .auditor: PageKit.redirect("/audit")
        case .system: PageKit.redirect("/status")
        }
    }

    /// A patient's first page on a browser that has no language cookie yet: in the language
    /// their record prefers (the profile's choice, so it follows them to a new device). Not for
    /// a proxy: the patient's language is not the caregiver's.
    func patientHome(_ request: Request, _ context: IdentifiedRequestContext) async throws -> Response {
        var response = PageKit.redirect("/portal")
        guard request.cookies[LandingController.languageCookie] == nil, let patient = context.principal.patient,
            context.principal.reference == "Patient/\(patient)"
        else { return response }
        let visit = kit.visit(request, context)
        return try await kit.audited(visit) { record in
            record.patients = ["Patient/\(patient)"]
            if let p = try? await kit.service.read("Patient", patient, access: kit.access(visit)), let content = p.content,
                let language = ProfileController.Fields.preferredLanguage(try JSON.parse(content))
            {
                response.headers[values: .setCookie].append(LandingController.languageSetCookie(language))
            }
            return response
        }
    }

    /// A portal page: only for a patient's account.
    func patientPage(
        _ request: Request, _ context: IdentifiedRequestContext, _ page: (PageKit.Visit, String) async throws -> Response
    ) async throws -> Response {
        try await kit.page(request, context, for: .patient, linked: \.patient, page)
    }

    // MARK: Dashboard

    func dashboard(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit) { record in
            record.patients = ["Patient/\(patient)"]
            let (upcoming, _) = try await appointmentRows(visit, patient)
            // (the newest five only, by the search's own order)
            let labs = PageKit.objects(try await kit.search(visit, "Observation", "patient=\(patient)&category=laboratory&_sort=-date&_count=5").matches)
            let latest = labs.sorted { ($0.1["effectiveDateTime"]?.stringValue ?? "") > ($1.1["effectiveDateTime"]?.stringValue ?? "") }.prefix(5)
            let results: [[String: Any]] = latest.map { _, o in
                [
                    "name": PageKit.text(o["code"]), "value": PageKit.quantity(o["valueQuantity"]) ?? PageKit.text(o["valueCodeableConcept"]),
                    "when": kit.when(o["effectiveDateTime"]?.stringValue, visit, time: false),
                ]
            }
            let t = visit.strings("home", ["next", "book", "results", "noResults", "records"]).merging(
                ["none": visit.t("home.noAppointments"), "unreadTitle": visit.t("messages.unreadCount"), "messages": visit.t("messages.open")], uniquingKeysWith: { a, _ in a })
            let roots = try await kit.threadStarts(visit, "subject=Patient/\(patient)")
            let unread = try await messages.threads(Array(roots.keys), reader: visit.principal.reference).reduce(0) { $0 + $1.unread }
            return try await kit.page(
                visit, title: visit.t("home.title"), template: "portal-home",
                values: ["t": t, "next": Array(upcoming.prefix(3)), "results": results, "unread": unread], section: "/portal")
        }
    }

    // MARK: Appointments

    static let doneKeys: Set<String> = ["appointments.booked", "appointments.pending", "appointments.cancelled"]

    /// The patient's appointments as table rows: upcoming (active, not yet ended) and the rest.
    func appointmentRows(_ visit: PageKit.Visit, _ patient: String) async throws -> (upcoming: [[String: Any]], past: [[String: Any]]) {
        let found = PageKit.objects(try await kit.search(visit, "Appointment", "actor=Patient/\(patient)&_count=500").matches)
        let names = try await practitionerNames(visit)
        let now = Instant.millis(Now.date)
        var upcoming: [(Int64, [String: Any])] = []
        var past: [(Int64, [String: Any])] = []
        for (v, a) in found {
            let status = a["status"]?.stringValue ?? ""
            let start = a["start"]?.stringValue.flatMap(DateRange.init)?.low ?? 0
            let end = a["end"]?.stringValue.flatMap(DateRange.init)?.low ?? start
            let practitioner = (a["participant"]?.arrayValue ?? []).compactMap { $0["actor"]?["reference"]?.stringValue }.first { $0.hasPrefix("Practitioner/") }
            var row: [String: Any] = [
                "id": v.id, "when": kit.when(a["start"]?.stringValue, visit), "status": status, "statusText": visit.t("status.\(status)"),
                "with": practitioner.flatMap { names[String($0.dropFirst("Practitioner/".count))] } ?? "",
                "type": PageKit.text(a["appointmentType"]),
            ]
            if ["pending", "booked"].contains(status) && end > now {
                row["cancellable"] = start > now
                upcoming.append((start, row))
            } else if status != "proposed" {
                past.append((start, row))
            }
        }
        return (upcoming.sorted { $0.0 < $1.0 }.map(\.1), past.sorted { $0.0 > $1.0 }.map(\.1))
    }

    /// Names of the practitioners (reference data, readable by everyone signed in).
    func practitionerNames(_ visit: PageKit.Visit) async throws -> [String: String] {
        let found = PageKit.objects(try await kit.search(visit, "Practitioner", "_count=500").matches)
        return Dictionary(found.map { ($0.0.id, PageKit.name($0.1)) }, uniquingKeysWith: { a, _ in a })
    }

    func appointments(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit) { record in
            record.patients = ["Patient/\(patient)"]
            let (upcoming, past) = try await appointmentRows(visit, patient)
            let names = try await practitionerNames(visit)
            let query = visit.request.uri.queryParameters
            let type = query["type"].map(String.init).flatMap { code in kinds.first { $0.code == code }?.code } ?? kinds.first?.code ?? ""
            let chosen = query["practitioner"].map(String.init).flatMap { names[$0] != nil ? $0 : nil }
            let today = Self.day(Instant.millis(Now.date), zone: kit.timeZone)
            let from = query["from"].map(String.init).flatMap { Self.isDay($0) && $0 >= today ? $0 : nil } ?? today
            var values: [String: Any] = [
                "t": visit.strings(
                    "appointments",
                    ["upcoming", "past", "when", "with", "type", "status", "actions", "cancel", "find", "practitioner", "anyone", "from", "search", "free", "noFree", "bookAt"]
                ).merging(["none": visit.t("appointments.none")], uniquingKeysWith: { a, _ in a }),
                "upcoming": ["rows": upcoming, "actions": true], "past": ["rows": past, "actions": false],
                "kinds": kinds.map { ["code": $0.code, "display": $0.display, "selected": $0.code == type] },
                "practitioners": names.sorted { $0.value < $1.value }.map { ["id": $0.key, "name": $0.value, "selected": $0.key == chosen] },
                "from": from, "today": today,
            ]
            if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
            if query["type"] != nil, let find = operations["find"] {
                values["searched"] = true
                values["type"] = type
                values["days"] = try await freeTimes(find, visit, type: type, practitioner: chosen, from: from, names: names)
            }
            return try await kit.page(visit, title: visit.t("appointments.title"), template: "portal-appointments", values: values, section: "/portal/appointments")
        }
    }

    /// Two weeks of free times from `from` (a day in the practice's zone), grouped by day.
    func freeTimes(_ find: any FHIROperation, _ visit: PageKit.Visit, type: String, practitioner: String?, from: String, names: [String: String]) async throws -> [[String: Any]] {
        guard let start = Self.midnight(from, zone: kit.timeZone) else { return [] }
        var input: [(String, JSON)] = [
            ("start", .string(Instant.format(millis: max(start, Instant.millis(Now.date))))), ("end", .string(Instant.format(millis: start + 14 * 86_400_000))),
            ("visit-type", .string(type)), ("_count", "150"),
        ]
        if let practitioner { input.append(("practitioner", .string("Practitioner/\(practitioner)"))) }
        let bundle = try await kit.invoke(find, input, visit).body
        let dayFormat = kit.formatter(visit, date: .full, time: .none)
        let timeFormat = kit.formatter(visit, date: .none, time: .short)
        var days: [(String, [[String: Any]])] = []
        for entry in bundle["entry"]?.arrayValue ?? [] {
            guard let a = entry["resource"], let startText = a["start"]?.stringValue, let at = DateRange(startText)?.low,
                let who = (a["participant"]?.arrayValue ?? []).compactMap({ $0["actor"]?["reference"]?.stringValue }).first(where: { $0.hasPrefix("Practitioner/") })
            else { continue }
            let date = Date(timeIntervalSince1970: Double(at) / 1000)
            let id = String(who.dropFirst("Practitioner/".count))
            let time: [String: Any] = ["start": Instant.format(millis: at), "time": timeFormat.string(from: date), "practitioner": id, "with": names[id] ?? ""]
            let day = dayFormat.string(from: date)
            if days.last?.0 == day { days[days.count - 1].1.append(time) } else { days.append((day, [time])) }
        }
        return days.map { ["day": $0.0, "times": $0.1] }
    }

    func book(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit, action: .execute) { record in
            record.patients = ["Patient/\(patient)"]
            let form = try await PageForm.read(visit.request)
            // the chosen time: `practitioner|start`, as the find form offers it
            let slot = (form["slot"] ?? "").split(separator: "|", maxSplits: 1).map(String.init)
            guard let op = operations["book"], let type = form["type"], slot.count == 2, ResourceID.isValid(slot[0]) else {
                return try await kit.problem(visit, .badRequest, visit.t("error.title"))
            }
            let appointment: JSONObject = [
                "resourceType": "Appointment", "status": "proposed", "appointmentType": ["coding": [["code": .string(type)]]], "start": .string(slot[1]),
                "participant": [
                    ["actor": ["reference": .string("Practitioner/\(slot[0])")], "status": "needs-action"],
                    ["actor": ["reference": .string("Patient/\(patient)")], "status": "accepted"],
                ],
            ]
            let result = try await kit.invoke(op, [("appointment-resource", .object(appointment))], visit)
            let done = result.body["status"]?.stringValue == "pending" ? "appointments.pending" : "appointments.booked"
            return PageKit.redirect("/portal/appointments", done: done)
        }
    }

    func cancel(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit, action: .execute) { record in
            record.patients = ["Patient/\(patient)"]
            guard let op = operations["cancel"], let id = visit.context.parameters.get("id"), ResourceID.isValid(id) else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            _ = try await kit.invoke(op, id: id, [("reason", "Cancelled by the patient in the portal")], visit)
            return PageKit.redirect("/portal/appointments", done: "appointments.cancelled")
        }
    }

    // MARK: Records and download

    func records(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit) { record in
            record.patients = ["Patient/\(patient)"]
            let values = try await RecordView(kit: kit).values(patient: patient, visit)
            return try await kit.page(visit, title: visit.t("records.title"), template: "portal-records", values: values, section: "/portal/records")
        }
    }

    func downloadPage(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.page(
            visit, title: visit.t("download.title"), template: "portal-download", values: ["t": visit.strings("download", ["lead", "button"])],
            section: "/portal/download")
    }

    /// The whole record as the API's `Patient/{id}/$everything` gives it, as a file.
    func download(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        guard let everything = operations["everything"] else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
        let result = try await kit.invoke(everything, id: patient, [], visit)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/fhir+json", .contentDisposition: "attachment; filename=\"healthhub-record.json\"", .cacheControl: "no-store",
            ], body: .init(byteBuffer: ByteBuffer(bytes: result.body.serialized())))
    }

    // MARK: Days

    /// `yyyy-MM-dd` of an instant in `zone`.
    static func day(_ millis: Int64, zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(millis) / 1000))
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// A `yyyy-MM-dd` day of the years 1900–2199 (what a schedule or a filter may ask for).
    static func isDay(_ text: String) -> Bool {
        text.count == 10 && DateRange(text) != nil && (text.hasPrefix("19") || text.hasPrefix("20") || text.hasPrefix("21"))
    }

    /// The first instant of a `yyyy-MM-dd` day in `zone`.
    static func midnight(_ day: String, zone: TimeZone) -> Int64? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return nil }
        return Instant.millis(date)
    }
}
