import Audit
import Foundation
import Gateway
import Hummingbird
import Kernel
import Logging
import Telemetry

/// Audit records of security events: logins, logouts, failures, lockouts, MFA, tokens,
/// denials. They go to the same hash-chained trail as every FHIR interaction.
package struct SecurityAudit: Sendable {
    let trail: AuditTrail
    let telemetry: Telemetry?

    package init(trail: AuditTrail, telemetry: Telemetry? = nil) {
        self.trail = trail
        self.telemetry = telemetry
    }

    /// `agent`: `User/<id>`, `Patient/<id>`, `Client/<id>` or `anonymous`.
    func record(_ interaction: String, _ context: AppRequestContext, agent: String, role: String? = nil,
                client: String? = nil, success: Bool, code: String? = nil) async {
        var r = AuditRecord(action: .execute, interaction: interaction, outcome: success ? .success : .minorFailure, outcomeCode: code,
                            agent: agent, agentRole: role, networkAddress: context.remoteAddress, requestID: context.requestID)
        r.client = client
        r.purposeOfUse = role.flatMap(Role.init(rawValue:)).map(AuditRecord.purpose(of:))
        if !success, let kind = Self.failureKinds[interaction] { telemetry?.authFailed(kind) }
        do { try await trail.appendSoon([r]) } catch {
            context.logger.error("could not write a security audit record", metadata: ["interaction": .string(interaction)])
        }
    }

    /// Failed interactions that the auth-failure metrics count.
    static let failureKinds: [String: Telemetry.AuthFailure] = ["login": .login, "mfa": .mfa, "mfa-enrol": .mfa, "token": .token]

    /// A refused request before any FHIR interaction ran (no or bad token, forbidden break-glass).
    func denied(_ request: Request, _ context: AppRequestContext, reason: String, principal: Principal?) async {
        var r = AuditRecord(action: .execute, interaction: "denied", outcome: .minorFailure, outcomeCode: reason,
                            networkAddress: context.remoteAddress, requestID: context.requestID)
        r.setAgent(principal)
        r.query = "\(request.method.rawValue) \(request.uri.path)"
        if reason == "login" { telemetry?.authFailed(.token) }
        do { try await trail.appendSoon([r]) } catch {
            context.logger.error("could not write a security audit record", metadata: ["interaction": "denied"])
        }
    }
}
