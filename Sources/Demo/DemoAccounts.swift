import FHIR
import Foundation
import Identity
import Kernel
import Storage

/// Sign-in accounts for a demo: one of each role, linked to the first demo patient and to that
/// patient's general practitioner (who has encounters with them, so the care relationship is
/// real), plus a backend client for curl. Each account has its own random password, and each
/// staff account a one-time enrolment code for its authenticator, all written to the
/// credentials file only.
package struct DemoAccounts: Sendable {
    package struct Credentials: Sendable {
        package var accounts: [(email: String, role: Role, password: String, enrolmentCode: String?)]
        package var clientID: String
        package var clientSecret: String

        package var text: String {
            var lines = [
                "# HealthHub demo credentials (created by `healthhub demo`; keep this file private)"
            ]
            for a in accounts {
                lines.append("\(a.role.rawValue): \(a.email) password=\(a.password)" + (a.enrolmentCode.map { " enrolment_code=\($0)" } ?? ""))
            }
            lines.append("backend client (client_credentials, system/*.cruds): client_id=\(clientID) client_secret=\(clientSecret)")
            lines.append("Practitioners, admins and auditors set up an authenticator app at their first sign-in (/login), with their enrolment code.")
            return lines.joined(separator: "\n") + "\n"
        }
    }

    let fhir: FHIRService
    let identity: IdentityServices

    package init(fhir: FHIRService, identity: IdentityServices) {
        self.fhir = fhir
        self.identity = identity
    }

    /// Creates the accounts unless they exist; nil when they already did.
    package func create(population: DemoPopulation) async throws -> Credentials? {
        guard try await identity.accounts.find(email: "admin@demo.healthhub.test") == nil else { return nil }
        let mrn = population.medicalRecordNumber(index: 0)
        let request = try fhir.searchRequest(type: "Patient", query: "identifier=\(DemoJSON.mrnSystem)|\(mrn)")
        let found = try await fhir.search(request, access: RequestAccess(healthHub: .demoData, policy: fhir.policy)).matches
        guard let patient = found.first, let content = patient.content,
            let gp = try JSON.parse(content)["generalPractitioner"]?.arrayValue?.first?["reference"]?.stringValue,
            gp.hasPrefix("Practitioner/")
        else {
            throw IdentityError.internalError("the demo patients are missing; load them first")
        }
        let accounts: [(String, Role, String?, String?)] = [
            ("patient@demo.healthhub.test", .patient, patient.id, nil),
            ("practitioner@demo.healthhub.test", .practitioner, nil, String(gp.dropFirst("Practitioner/".count))),
            ("admin@demo.healthhub.test", .admin, nil, nil),
            ("auditor@demo.healthhub.test", .auditor, nil, nil),
        ]
        var created: [(email: String, role: Role, password: String, enrolmentCode: String?)] = []
        for (email, role, p, pr) in accounts {
            let password = "demo-" + Secrets.token(bytes: 12)
            let user = try await identity.accounts.create(email: email, role: role, password: password, patientID: p, practitionerID: pr)
            created.append((email, role, password, user.mfaRequired ? try await identity.accounts.issueEnrolmentCode(userID: user.id) : nil))
        }
        let (client, secret) = try await identity.clients.create(name: "demo backend", scopes: "system/*.cruds", redirectURIs: [], isPublic: false, jwks: nil)
        return Credentials(accounts: created, clientID: client.id, clientSecret: secret ?? "")
    }
}
