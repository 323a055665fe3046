import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel

/// The audit trail for auditors at `/audit`: AuditEvents filtered by who, which patient, when
/// and outcome, newest first, through the same AuditEvent search as the API (which only
/// auditors may use). Searching the trail is itself audited, as on the API.
package struct AuditViewerController: Sendable {
    let kit: PageKit

    package init(kit: PageKit) { self.kit = kit }

    package func register(on routes: RouteTable) {
        routes.signedIn.get("audit") { r, c in try await kit.page(r, c, for: .auditor) { try await viewer($0) } }
    }

    func viewer(_ visit: PageKit.Visit) async throws -> Response {
        let q = visit.request.uri.queryParameters
        let field = { (name: String) -> String in q[Substring(name)].map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? "" }
        let (agent, patient, from, to, outcome) = (field("agent"), field("patient"), field("from"), field("to"), field("outcome"))
        var pairs: [(String, String)] = [("_count", "200")]
        if !agent.isEmpty { pairs.append(("agent", agent)) }
        if !patient.isEmpty { pairs.append(("patient", patient.hasPrefix("Patient/") ? patient : "Patient/\(patient)")) }
        if PatientPortalController.isDay(from) { pairs.append(("date", "ge\(from)")) }
        if PatientPortalController.isDay(to) { pairs.append(("date", "le\(to)")) }
        if outcome == "success" { pairs.append(("outcome", "0")) }
        if outcome == "failure" { pairs.append(("outcome", "4,8,12")) }
        return try await kit.audited(visit, interaction: "search-type") { record in
            record.query = "AuditEvent?" + QueryString.encode(pairs)
            let found = PageKit.objects(try await kit.search(visit, "AuditEvent", QueryString.encode(pairs)).matches)
            let events: [[String: Any]] = found.map { _, e in
                let who = (e["agent"]?.arrayValue ?? []).compactMap { $0["who"]?["reference"]?.stringValue ?? $0["who"]?["display"]?.stringValue }.joined(separator: ", ")
                let entities = (e["entity"]?.arrayValue ?? []).compactMap { $0["what"]?["reference"]?.stringValue }.prefix(6).joined(separator: ", ")
                let code = e["outcome"]?.stringValue ?? "0"
                return [
                    "when": kit.when(e["recorded"]?.stringValue, visit), "agent": who,
                    "what": (e["subtype"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }.joined(separator: ", "), "entities": entities,
                    "outcome": visit.t(code == "0" ? "audit.success" : "audit.failure"),
                ]
            }
            let outcomes: [[String: Any]] = [("", "audit.any"), ("success", "audit.success"), ("failure", "audit.failure")].map {
                ["code": $0.0, "label": visit.t($0.1), "selected": $0.0 == outcome]
            }
            return try kit.page(
                visit, title: visit.t("audit.title"), template: "audit-viewer",
                values: [
                    "t": visit.strings("audit", ["agent", "patient", "from", "to", "outcome", "search", "when", "what", "entities", "none", "more"]),
                    "events": events, "outcomes": outcomes, "agent": agent, "patient": patient, "from": from, "to": to,
                ], section: "/audit")
        }
    }
}
