import Foundation
import Hummingbird
import Kernel
import Logging
import Telemetry

/// Audit records of security events: logins, logouts, failures, lockouts, MFA, tokens,
/// denials. They go to the same hash-chained trail as every FHIR interaction.
package struct SecurityAudit: Sendable {
    let trail: any AuditRecording
    let telemetry: Telemetry?

    package init(trail: any AuditRecording, telemetry: Telemetry? = nil) {
        self.trail = trail
        self.telemetry = telemetry
    }

    /// `agent`: `User/<id>`, `Patient/<id>`, `Client/<id>` or `anonymous`.
    package func record(
        _ interaction: String, _ context: some GatewayRequestContext, agent: String, role: String? = nil,
        client: String? = nil, success: Bool, code: String? = nil
    ) async {
        var r = AuditRecord(
            action: .execute, interaction: interaction, outcome: success ? .success : .minorFailure, outcomeCode: code,
            agent: agent, agentRole: role, networkAddress: context.remoteAddress, requestID: context.requestID)
        r.client = client
        r.purposeOfUse = role.flatMap(Role.init(rawValue:)).map(AuditRecord.purpose(of:))
        if !success, let kind = Self.failureKinds[interaction] { telemetry?.authFailed(kind) }
        do { try await trail.appendSoon([r]) } catch {
            context.logger.error("could not write a security audit record", metadata: ["interaction": .string(interaction)])
        }
    }

    /// An operator's change through the operations API (WAF replaced or reloaded, alarm
    /// silenced), by the signed-in principal.
    package func operation(_ interaction: String, _ context: IdentifiedRequestContext, success: Bool, code: String? = nil) async {
        await record(
            interaction, context, agent: context.principal.reference, role: context.principal.role.rawValue,
            client: context.principal.clientID, success: success, code: code)
    }

    /// Failed interactions that the auth-failure metrics count.
    static let failureKinds: [String: Telemetry.AuthFailure] = ["login": .login, "mfa": .mfa, "mfa-enrol": .mfa, "token": .client]

    /// A refused request before any FHIR interaction ran (no or bad token, forbidden break-glass).
    /// `failure`: what the auth-failure metrics count it as (a missing or a refused token).
    package func denied(_ request: Request, _ context: AppRequestContext, reason: String, principal: Principal?, failure: Telemetry.AuthFailure? = nil) async {
        var r = AuditRecord(
            action: .execute, interaction: "denied", outcome: .minorFailure, outcomeCode: reason,
            networkAddress: context.remoteAddress, requestID: context.requestID)
        r.setAgent(principal)
        r.query = "\(request.method.rawValue) \(request.uri.path)"
        if let failure { telemetry?.authFailed(failure) }
        do { try await trail.appendSoon([r]) } catch {
            context.logger.error("could not write a security audit record", metadata: ["interaction": "denied"])
        }
    }
}
