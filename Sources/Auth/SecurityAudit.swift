import Audit
import Foundation
import Gateway
import Hummingbird
import Kernel
import Logging

/// Audit records of security events: logins, logouts, failures, lockouts, MFA, tokens,
/// denials. They go to the same hash-chained trail as every FHIR interaction.
package struct SecurityAudit: Sendable {
    let trail: AuditTrail

    package init(trail: AuditTrail) { self.trail = trail }

    /// `agent`: `User/<id>`, `Patient/<id>`, `Client/<id>` or `anonymous`.
    func record(_ interaction: String, _ context: AppRequestContext, agent: String, role: String? = nil,
                client: String? = nil, success: Bool, code: String? = nil) async {
        var r = AuditRecord(action: .execute, interaction: interaction, outcome: success ? .success : .minorFailure, outcomeCode: code,
                            agent: agent, agentRole: role, networkAddress: context.remoteAddress, requestID: context.requestID)
        r.client = client
        r.purposeOfUse = role.flatMap(Role.init(rawValue:)).map(AuditRecord.purpose(of:))
        do { try await trail.appendSoon([r]) } catch {
            context.logger.error("could not write a security audit record", metadata: ["interaction": .string(interaction)])
        }
    }

    /// A refused request before any FHIR interaction ran (no or bad token, forbidden break-glass).
    func denied(_ request: Request, _ context: AppRequestContext, reason: String, principal: Principal?) async {
        var r = AuditRecord(action: .execute, interaction: "denied", outcome: .minorFailure, outcomeCode: reason,
                            networkAddress: context.remoteAddress, requestID: context.requestID)
        r.setAgent(principal)
        r.query = "\(request.method.rawValue) \(request.uri.path)"
        do { try await trail.appendSoon([r]) } catch {
            context.logger.error("could not write a security audit record", metadata: ["interaction": "denied"])
        }
    }
}
