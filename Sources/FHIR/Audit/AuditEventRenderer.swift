import Foundation
import Kernel

/// Turns an `AuditRecord` into a FHIR R4 AuditEvent shaped after IHE Basic Audit Log Patterns
/// (BALP): a RESTful-operation event with one entity per patient touched. The audit trail seals
/// and chains the bytes it renders.
package struct AuditEventRenderer: AuditEventRendering {
    /// Identifies this server as the audit source.
    let observer: String

    package init(observer: String = "HealthHub \(HealthHubVersion.current)") { self.observer = observer }

    static func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSON {
        var o = JSONObject([("system", .string(system)), ("code", .string(code))])
        if let display { o["display"] = .string(display) }
        return .object(o)
    }

    /// Codes of http://hl7.org/fhir/restful-interaction; other events (import, login...) use HealthHub's own system.
    static let restfulInteractions: Set<String> = [
        "read", "vread", "update", "patch", "delete", "history", "history-instance", "history-type", "history-system",
        "create", "search", "search-type", "search-system", "capabilities", "transaction", "batch", "operation",
    ]

    /// The AuditEvent as stored: stamped with its id and `meta` like any resource (version 1).
    package func render(_ record: AuditRecord, id: String, recorded millis: Int64) -> Data {
        Data(JSON.object(ResourceStore.stamped(render(record), type: "AuditEvent", id: id, version: 1, lastUpdated: millis)).serialized())
    }

    package func render(_ r: AuditRecord) -> JSONObject {
        var event = JSONObject()
        event["resourceType"] = .string("AuditEvent")
        let security = ["login", "logout", "token", "mfa", "lockout", "denied", "break-glass"].contains { r.interaction.hasPrefix($0) }
        let restful = Self.restfulInteractions.contains(r.interaction)
        event["type"] =
            security
            ? Self.coding("http://dicom.nema.org/resources/ontology/DCM", "110114", "User Authentication")
            : Self.coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation")
        event["subtype"] = .array([
            restful
                ? Self.coding("http://hl7.org/fhir/restful-interaction", r.interaction)
                : Self.coding("urn:healthhub:audit-event-subtype", r.interaction)
        ])
        event["action"] = .string(r.action.rawValue)
        event["recorded"] = .string(Instant.format(millis: Instant.millis(r.recorded)))
        event["outcome"] = .string(r.outcome.rawValue)
        if let code = r.outcomeCode { event["outcomeDesc"] = .string(code) }
        if let purpose = r.purposeOfUse {
            var concept = JSONObject([("coding", .array([Self.coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", purpose, purpose == "BTG" ? "break the glass" : nil)]))])
            if let text = r.purposeText { concept["text"] = .string(text) }
            event["purposeOfEvent"] = .array([.object(concept)])
        }
        var agent = JSONObject()
        agent["type"] = .object(
            JSONObject([
                (
                    "coding",
                    .array([
                        r.agent.hasPrefix("Client/")
                            ? Self.coding("http://dicom.nema.org/resources/ontology/DCM", "110150", "Application")
                            : Self.coding("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser", "human user")
                    ])
                )
            ]))
        if let role = r.agentRole {
            agent["role"] = .array([.object(JSONObject([("text", .string(role))]))])
        }
        if let slash = r.agent.firstIndex(of: "/"), ["User", "Client"].contains(String(r.agent[..<slash])) {
            // Accounts without a FHIR resource (admins, auditors) and backend clients: by identifier.
            let system = r.agent.hasPrefix("User/") ? "urn:healthhub:user" : "urn:healthhub:client"
            agent["who"] = .object(
                JSONObject([("identifier", .object(JSONObject([("system", .string(system)), ("value", .string(String(r.agent[r.agent.index(after: slash)...])))])))]))
        } else if r.agent.contains("/") {
            agent["who"] = .object(JSONObject([("reference", .string(r.agent))]))
        } else {
            agent["who"] = .object(JSONObject([("display", .string(r.agent))]))
        }
        agent["requestor"] = .bool(true)
        if let address = r.networkAddress {
            agent["network"] = .object(JSONObject([("address", .string(address)), ("type", .string(address.contains(":") || address.first?.isNumber == true ? "2" : "1"))]))
        }
        var agents: [JSON] = [.object(agent)]
        if let client = r.client {
            // BALP: the application the user acted through is an agent of its own.
            agents.append(
                .object(
                    JSONObject([
                        ("type", .object(JSONObject([("coding", .array([Self.coding("http://dicom.nema.org/resources/ontology/DCM", "110150", "Application")]))]))),
                        ("who", .object(JSONObject([("identifier", .object(JSONObject([("system", .string("urn:healthhub:client")), ("value", .string(client))])))]))),
                        ("requestor", .bool(false)),
                    ])))
        }
        event["agent"] = .array(agents)
        event["source"] = .object(
            JSONObject([
                ("site", .string("HealthHub")),
                ("observer", .object(JSONObject([("display", .string(observer))]))),
                ("type", .array([Self.coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")])),
            ]))
        var entities: [JSON] = []
        for patient in r.patients {
            entities.append(
                .object(
                    JSONObject([
                        ("what", .object(JSONObject([("reference", .string(patient))]))),
                        ("type", Self.coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person")),
                        ("role", Self.coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient")),
                    ])))
        }
        for resource in r.resources where !r.patients.contains(resource) {
            entities.append(
                .object(
                    JSONObject([
                        ("what", .object(JSONObject([("reference", .string(resource))]))),
                        ("type", Self.coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")),
                    ])))
        }
        if let query = r.query {
            entities.append(
                .object(
                    JSONObject([
                        ("type", Self.coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")),
                        ("role", Self.coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query")),
                        ("query", .string(Data(query.utf8).base64EncodedString())),
                    ])))
        }
        if let requestID = r.requestID {
            entities.append(
                .object(
                    JSONObject([
                        ("type", Self.coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "4", "Other")),
                        ("detail", .array([.object(JSONObject([("type", .string("request-id")), ("valueString", .string(requestID))]))])),
                    ])))
        }
        if !entities.isEmpty { event["entity"] = .array(entities) }
        return event
    }
}
