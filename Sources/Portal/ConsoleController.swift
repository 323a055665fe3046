import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import Scheduling

/// The clinician console at `/console`: the day and week schedule (with pending bookings to
/// accept or decline, and no-shows to record), the patients in the clinician's care (searched
/// by a posted form, so no name is ever in a URL) and a patient's chart. Practitioners only;
/// every read and write goes through the API's access policy with the practitioner's
/// principal, so a patient outside their care is a 403 here as on the API.
package struct ConsoleController: Sendable {
    let kit: PageKit
    let operations: [String: any FHIROperation]

    package init(kit: PageKit, operations: [any FHIROperation]) {
        self.kit = kit
        self.operations = Dictionary(operations.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
    }

    package func register(on routes: RouteTable) {
        let pages = routes.signedIn
        pages.get("console") { request, context in try await staffPage(request, context, schedule) }
        pages.get("console/patients") { request, context in try await staffPage(request, context) { try await patients($0, $1, name: nil) } }
        pages.post("console/patients") { request, context in
            try await staffPage(request, context) { visit, me in try await patients(visit, me, name: try await PageForm.read(request)["name"]) }
        }
        pages.get("console/patients/:id") { request, context in try await staffPage(request, context, chart) }
        for action in ["approve", "decline", "noshow"] {
            pages.post(RouterPath("console/appointments/:id/\(action)")) { request, context in
                try await staffPage(request, context) { visit, _ in try await change(visit, action) }
            }
        }
    }

    /// A console page: only for a practitioner's account.
    func staffPage(
        _ request: Request, _ context: IdentifiedRequestContext, _ page: (PageKit.Visit, String) async throws -> Response
    ) async throws -> Response {
        try await kit.page(request, context, for: .practitioner, linked: \.practitioner, page)
    }

    // MARK: Schedule

    static let doneKeys: Set<String> = ["schedule.approved", "schedule.declined", "schedule.noshowDone"]

    func schedule(_ visit: PageKit.Visit, _ practitioner: String) async throws -> Response {
        try await kit.audited(visit) { record in
            let query = visit.request.uri.queryParameters
            let isDay = query["view"] != "week"
            let today = PatientPortalController.day(Instant.millis(Now.date), zone: kit.timeZone)
            let date = query["date"].map(String.init).flatMap { PatientPortalController.isDay($0) ? $0 : nil } ?? today
            guard let start = PatientPortalController.midnight(date, zone: kit.timeZone) else { return try await kit.problem(visit, .badRequest, visit.t("error.title")) }
            let days = isDay ? 1 : 7
            // (midnights in the practice's zone: a day is 23 or 25 hours at a DST change)
            let midnights = (0...days).compactMap { n in
                PatientPortalController.midnight(PatientPortalController.day(start + Int64(n) * 86_400_000 + 3_600_000 * 3, zone: kit.timeZone), zone: kit.timeZone)
            }
            let end = midnights.last ?? start + Int64(days) * 86_400_000
            let found = try await kit.search(
                visit, "Appointment",
                "actor=Practitioner/\(practitioner)&date=ge\(Instant.format(millis: start))&date=lt\(Instant.format(millis: end))&_include=Appointment:patient&_count=500")
            let names = Dictionary(PageKit.objects(found.included.filter { $0.type == "Patient" }).map { ($0.0.id, PageKit.name($0.1)) }, uniquingKeysWith: { a, _ in a })
            let now = Instant.millis(Now.date)
            let timeFormat = kit.formatter(visit, date: .none, time: .short)
            let dayFormat = kit.formatter(visit, date: .full, time: .none)
            var byDay: [[String: Any]] = []
            var shown = Set<String>()
            for (n, midnight) in midnights.dropLast().enumerated() {
                let next = midnights[n + 1]
                let rows: [(Int64, [String: Any])] = PageKit.objects(found.matches).compactMap { v, a in
                    guard let at = a["start"]?.stringValue.flatMap(DateRange.init)?.low, at >= midnight, at < next else { return nil }
                    let status = a["status"]?.stringValue ?? ""
                    guard status != "proposed" else { return nil }
                    let patient = (a["participant"]?.arrayValue ?? []).compactMap { $0["actor"]?["reference"]?.stringValue }.first { $0.hasPrefix("Patient/") }
                    let patientID = patient.map { String($0.dropFirst("Patient/".count)) }
                    if let patient { shown.insert(patient) }
                    var row: [String: Any] = [
                        "id": v.id, "time": timeFormat.string(from: Date(timeIntervalSince1970: Double(at) / 1000)), "status": status,
                        "statusText": visit.t("status.\(status)"), "type": PageKit.text(a["appointmentType"]),
                        "patient": patientID.flatMap { names[$0] } ?? "", "pending": status == "pending" && SchedulingVocabulary.holdExpiry(of: a) == nil,
                        "past": status == "booked" && at < now,
                    ]
                    if let patientID { row["patientID"] = patientID }
                    return (at, row)
                }
                byDay.append(["day": dayFormat.string(from: Date(timeIntervalSince1970: Double(midnight) / 1000)), "rows": rows.sorted { $0.0 < $1.0 }.map(\.1)])
            }
            record.patients = shown.sorted()
            let view = isDay ? "day" : "week"
            let step = Int64(days) * 86_400_000 + 3_600_000 * 3
            let link = { (d: String, v: String) in "/console?view=\(v)&date=\(d)" }
            var values: [String: Any] = [
                "t": visit.strings("schedule", ["title", "day", "week", "previous", "next", "today", "time", "patient", "none", "approve", "decline", "noshow"])
                    .merging(
                        ["type": visit.t("appointments.type"), "status": visit.t("appointments.status"), "actions": visit.t("appointments.actions")],
                        uniquingKeysWith: { a, _ in a }),
                "days": byDay, "isDay": isDay,
                "previous": link(PatientPortalController.day(start - step + 3_600_000 * 6, zone: kit.timeZone), view),
                "next": link(PatientPortalController.day(start + step, zone: kit.timeZone), view),
                "todayLink": link(today, view), "dayLink": link(date, "day"), "weekLink": link(date, "week"),
            ]
            if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
            return try await kit.page(visit, title: visit.t("schedule.title"), template: "console-schedule", values: values, section: "/console")
        }
    }

    /// Accept or decline a pending booking, or record a no-show of a booked one.
    func change(_ visit: PageKit.Visit, _ action: String) async throws -> Response {
        try await kit.audited(visit, action: .execute) { record in
            guard let id = visit.context.parameters.get("id"), ResourceID.isValid(id) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            let access = kit.access(visit)
            let current = try await kit.service.read("Appointment", id, access: access)
            guard let content = current.content, var appointment = try JSON.parse(content).objectValue else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            record.patients = kit.service.compartment.patients(of: current)
            let status = appointment["status"]?.stringValue ?? ""
            switch action {
            case "decline":
                guard status == "pending", let cancel = operations["cancel"] else { return try await kit.problem(visit, .conflict, visit.t("error.title")) }
                _ = try await kit.invoke(cancel, id: id, [("reason", "Declined by the clinic")], visit)
                return PageKit.redirect("/console", done: "schedule.declined")
            case "approve":
                guard status == "pending", SchedulingVocabulary.holdExpiry(of: appointment) == nil else { return try await kit.problem(visit, .conflict, visit.t("error.title")) }
                appointment["status"] = "booked"
            default:
                guard status == "booked" else { return try await kit.problem(visit, .conflict, visit.t("error.title")) }
                appointment["status"] = "noshow"
            }
            appointment["participant"] = .array(
                (appointment["participant"]?.arrayValue ?? []).map { p in
                    guard var o = p.objectValue, action == "approve" else { return p }
                    o["status"] = "accepted"
                    return .object(o)
                })
            var write = kit.record(visit, .update, "update")
            write.resources = ["Appointment/\(id)"]
            _ = try await kit.service.update(appointment, type: "Appointment", id: id, ifMatch: current.version, access: access, audit: write)
            return PageKit.redirect("/console", done: action == "approve" ? "schedule.approved" : "schedule.noshowDone")
        }
    }

    // MARK: Patients and chart

    func patients(_ visit: PageKit.Visit, _ practitioner: String, name: String?) async throws -> Response {
        try await kit.audited(visit) { record in
            // (the access policy leaves only the patients in this practitioner's care)
            let query = "_count=100" + (name.map { "&name=" + QueryString.encode([("", String($0.prefix(100)))]).dropFirst() } ?? "")
            let found = PageKit.objects(try await kit.search(visit, "Patient", query).matches)
            record.patients = found.map { "Patient/\($0.0.id)" }
            let rows: [[String: Any]] = found.map { v, p in
                ["id": v.id, "name": PageKit.name(p), "birthDate": kit.when(p["birthDate"]?.stringValue, visit, time: false), "gender": p["gender"]?.stringValue ?? ""]
            }.sorted { ($0["name"] as? String ?? "") < ($1["name"] as? String ?? "") }
            return try await kit.page(
                visit, title: visit.t("patients.title"), template: "console-patients",
                values: ["t": visit.strings("patients", ["search", "find", "name", "birthDate", "gender", "none"]), "rows": rows, "query": name ?? ""],
                section: "/console/patients")
        }
    }

    func chart(_ visit: PageKit.Visit, _ practitioner: String) async throws -> Response {
        try await kit.audited(visit) { record in
            guard let id = visit.context.parameters.get("id"), ResourceID.isValid(id) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            record.patients = ["Patient/\(id)"]
            let patient = try await kit.service.read("Patient", id, access: kit.access(visit))
            guard let content = patient.content, let p = try JSON.parse(content).objectValue else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            var values = try await RecordView(kit: kit).values(patient: id, visit)
            let encounters = PageKit.objects(try await kit.search(visit, "Encounter", "patient=\(id)&_count=200").matches)
            values["encounters"] = encounters.map { _, e in
                (
                    at: e["period"]?["start"]?.stringValue.flatMap(DateRange.init)?.low ?? 0,
                    row: [
                        "when": kit.when(e["period"]?["start"]?.stringValue, visit), "name": PageKit.text(e["type"]?.arrayValue?.first), "detail": e["status"]?.stringValue ?? "",
                    ]
                )
            }.sorted { $0.at > $1.at }.prefix(50).map(\.row)
            values["name"] = PageKit.name(p)
            values["id"] = id
            values["birthDate"] = kit.when(p["birthDate"]?.stringValue, visit, time: false)
            values["gender"] = p["gender"]?.stringValue ?? ""
            var t = values["t"] as? [String: String] ?? [:]
            t["born"] = visit.t("chart.born")
            t["encounters"] = visit.t("records.encounters")
            t["status"] = visit.t("records.status")
            t["proxies"] = visit.t("proxies.title")
            t["documents"] = visit.t("chart.documents")
            values["t"] = t
            return try await kit.page(visit, title: PageKit.name(p), template: "console-chart", values: values, section: "/console/patients")
        }
    }
}
