import Foundation

/// One audited event, before it becomes a FHIR AuditEvent: who did what to which patients'
/// data, from where, and how it ended. Carries references and codes only, never content.
package struct AuditRecord: Sendable, Equatable {
    /// FHIR AuditEvent.action.
    package enum Action: String, Sendable {
        case create = "C"
        case read = "R"
        case update = "U"
        case delete = "D"
        case execute = "E"
    }
    /// FHIR AuditEvent.outcome.
    package enum Outcome: String, Sendable {
        case success = "0"
        case minorFailure = "4"
        case seriousFailure = "8"
        case majorFailure = "12"
    }

    package var action: Action
    /// The FHIR restful interaction (`read`, `search-type`, `create`, `history-instance`, ...) or
    /// a security event (`login`, `logout`, `token`, ...).
    package var interaction: String
    package var outcome: Outcome
    /// Why it failed, from the error's issue code (never its text).
    package var outcomeCode: String?
    /// Who: a reference (`Practitioner/1`, `Client/abc`) or `anonymous`.
    package var agent: String
    package var agentRole: String?
    package var networkAddress: String?
    /// Every patient whose data the event touched (`Patient/123`), one entity each.
    package var patients: [String]
    /// Other resources touched (`Observation/9`).
    package var resources: [String]
    /// The search query of a search, as sent.
    package var query: String?
    package var purposeOfUse: String?
    /// The stated reason of a break-glass access (purpose of use `BTG`).
    package var purposeText: String?
    /// The OAuth client (application) that acted for the agent.
    package var client: String?
    package var requestID: String?
    package var recorded: Date

    package init(
        action: Action, interaction: String, outcome: Outcome = .success, outcomeCode: String? = nil,
        agent: String = "anonymous", agentRole: String? = nil, networkAddress: String? = nil,
        patients: [String] = [], resources: [String] = [], query: String? = nil,
        purposeOfUse: String? = nil, requestID: String? = nil, recorded: Date = Now.date
    ) {
        self.action = action
        self.interaction = interaction
        self.outcome = outcome
        self.outcomeCode = outcomeCode
        self.agent = agent
        self.agentRole = agentRole
        self.networkAddress = networkAddress
        self.patients = patients
        self.resources = resources
        self.query = query
        self.purposeOfUse = purposeOfUse
        self.requestID = requestID
        self.recorded = recorded
    }

    /// Fills in the agent and the purpose of use from the principal of the request (anonymous,
    /// with no purpose, when there is none: a refused request).
    package mutating func setAgent(_ principal: Principal?) {
        guard let principal else { return }
        agent = principal.reference
        agentRole = principal.role.rawValue
        client = principal.clientID
        purposeOfUse = Self.purpose(of: principal.role)
        if let reason = principal.breakGlassReason {
            purposeOfUse = "BTG"
            purposeText = reason
        }
    }

    /// The purpose of use (HL7 v3 ActReason) a role acts for: treatment for practitioners, the
    /// patient's own request, administration, and operations (auditing, backend services).
    package static func purpose(of role: Role) -> String {
        switch role {
        case .practitioner: "TREAT"
        case .patient: "PATRQT"
        case .admin: "HSYSADMIN"
        case .auditor, .system: "HOPERAT"
        }
    }
}
