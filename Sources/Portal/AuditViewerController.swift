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

    /// An agent as the trail names it: a reference, an account or client by identifier
    /// (`User/<id>`, `Client/<id>`), or a name (HealthHub's own tasks).
    static func who(_ who: JSON?) -> String? {
        if let reference = who?["reference"]?.stringValue { return reference }
        if let value = who?["identifier"]?["value"]?.stringValue {
            return (who?["identifier"]?["system"]?.stringValue == "urn:healthhub:client" ? "Client/" : "User/") + value
        }
        return who?["display"]?.stringValue
    }

    func viewer(_ visit: PageKit.Visit) async throws -> Response {
        let q = visit.request.uri.queryParameters
        let field = { (name: String) -> String in q[Substring(name)].map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? "" }
        let (agent, patient, from, to, outcome) = (field("agent"), field("patient"), field("from"), field("to"), field("outcome"))
        // an invalid filter is said so, never dropped (an auditor must not read an unfiltered
        // trail as the answer to a filtered question)
        let reference = { (text: String) in text.isEmpty || text.split(separator: "/").count == 2 && text.split(separator: "/").allSatisfy { ResourceID.isValid(String($0)) } }
        guard reference(agent), patient.isEmpty || ResourceID.isValid(patient.hasPrefix("Patient/") ? String(patient.dropFirst(8)) : patient),
            from.isEmpty || PatientPortalController.isDay(from), to.isEmpty || PatientPortalController.isDay(to), ["", "success", "failure"].contains(outcome)
        else { return try await kit.problem(visit, .badRequest, visit.t("audit.badFilter")) }
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
                let who = (e["agent"]?.arrayValue ?? []).compactMap { Self.who($0["who"]) }.joined(separator: ", ")
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
            return try await kit.page(
                visit, title: visit.t("audit.title"), template: "audit-viewer",
                values: [
                    "t": visit.strings("audit", ["agent", "patient", "from", "to", "outcome", "search", "when", "what", "entities", "none", "more"]),
                    "events": events, "outcomes": outcomes, "agent": agent, "patient": patient, "from": from, "to": to,
                ], section: "/audit")
        }
    }
}
