import Alarms
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel

/// The alarms in the admin console at `/admin/alarms`: the 22 alarms of this instance with their
/// state, value and since when, the active silences (each with a button that ends it), a form
/// that silences one alarm or all for a while with a reason, and the latest transitions of every
/// instance. What `/api/alarms` and `healthhub alarms` do, for admins; silences are audited
/// (`alarm-silence`, `alarm-unsilence`) like the API's.
package struct AlarmsPageController: Sendable {
    let kit: PageKit
    let coordinator: AlarmCoordinator
    let audit: SecurityAudit

    package init(kit: PageKit, coordinator: AlarmCoordinator, audit: SecurityAudit) {
        self.kit = kit
        self.coordinator = coordinator
        self.audit = audit
    }

    package func register(on routes: RouteTable) {
        let pages = routes.signedIn
        pages.get("admin/alarms") { r, c in try await kit.page(r, c, for: .admin) { try await alarms($0) } }
        pages.post("admin/alarms/silences") { r, c in try await kit.page(r, c, for: .admin) { try await silence($0) } }
        pages.post("admin/alarms/silences/:id/expire") { r, c in try await kit.page(r, c, for: .admin) { try await expire($0) } }
    }

    static let doneKeys: Set<String> = ["alarms.added", "alarms.unsilenced"]
    static let durations = [30, 60, 240, 480, 1440, 10080]

    func alarms(_ visit: PageKit.Visit, problem: String? = nil) async throws -> Response {
        let now = Now.date.timeIntervalSince1970
        let silences = try await coordinator.store.silences(activeAfter: now)
        func time(_ t: Double) -> String { kit.when(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t)), visit) }
        func value(_ v: Double?, noData: Bool) -> String { noData ? visit.t("alarms.noData") : v.map { PageKit.number($0) } ?? "—" }
        let order: [AlarmState: Int] = [.firing: 0, .pending: 1, .resolved: 2, .ok: 3]
        let rows: [[String: Any]] = coordinator.engine.statuses().sorted { (order[$0.state] ?? 9, $0.name) < (order[$1.state] ?? 9, $1.name) }.map { a in
            [
                "name": a.name, "summary": a.summary, "severity": a.severity.rawValue, "state": a.state.rawValue, "stateText": visit.t("alarms.state.\(a.state.rawValue)"),
                "since": time(a.since), "value": value(a.value, noData: a.noData), "silenced": silences.contains { $0.covers(a.name, at: now) },
            ]
        }
        let active: [[String: Any]] = silences.filter { $0.startsAt <= now }.map { s in
            ["id": s.id, "matcher": s.matcher == "*" ? visit.t("alarms.every") : s.matcher, "until": time(s.endsAt), "reason": s.reason, "by": s.createdBy]
        }
        let history: [[String: Any]] = try await coordinator.store.history(limit: 30).map { h in
            [
                "at": time(h.transition.at), "rule": h.transition.rule, "instance": h.instance, "from": visit.t("alarms.state.\(h.transition.from.rawValue)"),
                "to": visit.t("alarms.state.\(h.transition.to.rawValue)"), "silenced": h.silenced,
            ]
        }
        var values: [String: Any] = [
            "t": visit.strings(
                "alarms",
                [
                    "lead", "alarm", "state", "value", "since", "silenced", "silences", "noSilences", "matcher", "until", "reason", "by", "end", "silence",
                    "which", "every", "minutes", "submit", "history", "noHistory", "from", "to", "instance",
                ]),
            "alarms": rows, "silences": active, "history": history, "instance": coordinator.store.instance,
            "choices": AlarmRules.all.map(\.name).sorted(), "durations": Self.durations.map { ["minutes": String($0), "label": Self.duration($0, visit)] },
        ]
        if let problem { values["flash"] = ["text": problem, "bad": true] } else if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
        return try await kit.page(
            visit, title: visit.t("alarms.title"), template: "admin-alarms", values: values, section: "/admin/alarms", status: problem == nil ? .ok : .badRequest)
    }

    static func duration(_ minutes: Int, _ visit: PageKit.Visit) -> String {
        minutes < 60 ? "\(minutes) min" : minutes < 1440 ? "\(minutes / 60) h" : minutes < 10080 ? "\(minutes / 1440) \(visit.t("alarms.day"))" : visit.t("alarms.week")
    }

    func silence(_ visit: PageKit.Visit) async throws -> Response {
        let form = try await PageForm.read(visit.request)
        let alarm = form["alarm"] ?? ""
        do {
            _ = try await coordinator.store.silence(alarm, minutes: form["minutes"].flatMap(Int.init) ?? 0, reason: form["reason"] ?? "", createdBy: visit.principal.reference)
        } catch let problem as AlarmStore.SilenceProblem {
            await audit.operation("alarm-silence", visit.context, success: false, code: "invalid")
            return try await alarms(visit, problem: problem.description)
        }
        await audit.operation("alarm-silence", visit.context, success: true, code: String(alarm.prefix(64)))
        return PageKit.redirect("/admin/alarms", done: "alarms.added")
    }

    func expire(_ visit: PageKit.Visit) async throws -> Response {
        let id = visit.context.parameters.get("id") ?? ""
        guard id.count <= 64, try await coordinator.store.expireSilence(id: id, at: Now.date.timeIntervalSince1970) else {
            await audit.operation("alarm-unsilence", visit.context, success: false, code: "not-found")
            return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
        }
        await audit.operation("alarm-unsilence", visit.context, success: true)
        return PageKit.redirect("/admin/alarms", done: "alarms.unsilenced")
    }
}
