import FHIR
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// The admin console and the audit viewer through the router: what the CLI does for accounts
/// and clients, audited with the admin as agent; the audit trail for auditors only.
@Suite struct AdminPageTests {
    static func shown(_ label: String, in html: String) -> String? {
        guard let r = html.range(of: "<dt>\(label)</dt><dd><code>") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "<" })
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func anAdminManagesAccountsAndApplicationsAndIsAudited(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            let (admin, csrf) = try await PortalPageTests.signedIn(s, w.admin)
            #expect(try await admin.sendCopy(.get, "/home").headers[.location] == "/admin")
            let list = try await admin.sendCopy(.get, "/admin")
            #expect(list.code == 200 && list.text.contains("xu@example.org") && list.text.contains("alvarez@example.org"))
            // a practitioner account for Dr Young (no email on this server): the invitation link and the enrolment code are shown once
            let created = try await admin.sendCopy(
                .post, "/admin/users", form: [("csrf", csrf), ("email", "young@example.org"), ("role", "practitioner"), ("link", "Practitioner/\(w.pry)")])
            #expect(created.code == 200)
            #expect(Self.shown("Invitation link (7 days)", in: created.text)?.contains("/account/password?token=") == true)
            #expect(Self.shown("Enrolment code (7 days)", in: created.text) != nil)
            let young = try #require(try await s.services.identity.accounts.find(email: "young@example.org"))
            #expect(young.practitionerID == w.pry && young.role == .practitioner)
            // a link to a record that does not exist is refused, and no account is made
            let bad = try await admin.sendCopy(.post, "/admin/users", form: [("csrf", csrf), ("email", "ghost@example.org"), ("role", "patient"), ("link", "Patient/nope")])
            #expect(bad.code == 400 && bad.text.contains("does not exist"))
            #expect(try await s.services.identity.accounts.find(email: "ghost@example.org") == nil)
            // one account per person: a second account for Alvarez's record would read as her
            let duplicate = try await admin.sendCopy(
                .post, "/admin/users", form: [("csrf", csrf), ("email", "not-alvarez@example.org"), ("role", "patient"), ("link", "Patient/\(w.pa)")])
            #expect(duplicate.code == 400 && duplicate.text.contains("already has an account"))
            #expect(try await s.services.identity.accounts.find(email: "not-alvarez@example.org") == nil)
            // backend services (system/ scopes reach every record and the trail) are the operator's, not the console's
            for (scopes, redirect) in [("system/*.rs", "https://app.example/cb"), ("system/AuditEvent.rs patient/*.rs", "https://app.example/cb"), ("patient/*.rs", "")] {
                let refused = try await admin.sendCopy(.post, "/admin/clients", form: [("csrf", csrf), ("name", "Backdoor"), ("scopes", scopes), ("redirect", redirect)])
                #expect(refused.code == 403, "\(scopes)")
            }
            #expect(try await s.services.identity.clients.list().allSatisfy { $0.name != "Backdoor" })
            // disabling ends the account's sessions at once
            let (alvarez, _) = try await PortalPageTests.signedIn(s, w.patient)
            #expect(try await alvarez.sendCopy(.get, "/portal").code == 200)
            #expect(try await admin.sendCopy(.post, "/admin/users/\(w.patient.id)/disable", form: [("csrf", csrf)]).headers[.location] == "/admin?done=admin.changed")
            #expect(try await alvarez.sendCopy(.get, "/portal").code == 303)
            // applications: registered with the secret shown once, then revoked
            let app = try await admin.sendCopy(
                .post, "/admin/clients", form: [("csrf", csrf), ("name", "Chart app"), ("scopes", "openid fhirUser patient/*.rs"), ("redirect", "https://app.example/cb")])
            let clientID = try #require(Self.shown("Client id", in: app.text))
            #expect(Self.shown("Client secret", in: app.text) != nil)
            #expect(try await admin.sendCopy(.post, "/admin/clients/\(clientID)/revoke", form: [("csrf", csrf)]).code == 303)
            #expect(try await s.services.identity.clients.find(clientID)?.revoked == true)
            // each change is in the trail with the admin as agent
            let trail = try await s.get("/fhir/AuditEvent?agent=User/\(w.admin.id)&_count=50")
            let subtypes = Set(trail.entries.compactMap { $0["resource"]?["subtype"]?.arrayValue?.first?["code"]?.stringValue })
            #expect(subtypes.isSuperset(of: ["user-create", "user-disable", "client-create", "client-revoke"]))
            // nobody else reaches the console
            let (xu, xuCSRF) = try await PortalPageTests.signedIn(s, w.practitioner)
            #expect(try await xu.sendCopy(.get, "/admin").code == 403)
            #expect(try await xu.sendCopy(.post, "/admin/users/\(w.admin.id)/disable", form: [("csrf", xuCSRF)]).code == 403)
            #expect(try await s.services.identity.accounts.find(id: w.admin.id)?.disabled == false)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func anAuditorFindsAPatientsPageViewsAndNobodyElseReadsTheTrail(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            let (alvarez, _) = try await PortalPageTests.signedIn(s, w.patient)
            #expect(try await alvarez.sendCopy(.get, "/portal/records").code == 200)
            let (auditor, _) = try await PortalPageTests.signedIn(s, w.auditor)
            let found = try await auditor.sendCopy(.get, "/audit?patient=\(w.pa)&agent=Patient/\(w.pa)&outcome=success")
            #expect(found.code == 200)
            #expect(found.text.contains("<td>page-view</td>"))
            #expect(found.text.contains("Patient/\(w.pa)"))
            let none = try await auditor.sendCopy(.get, "/audit?patient=\(w.pb)&agent=Patient/\(w.pa)")
            #expect(none.text.contains("No events match."))
            // accounts without a FHIR record are named too (the auditor's own search, as User/<id>)
            #expect(try await auditor.sendCopy(.get, "/audit?agent=User/\(w.auditor.id)").text.contains("<td>User/\(w.auditor.id)</td>"))
            // a filter that is not valid is said so, never dropped
            for query in ["from=2026-13-45", "from=x", "outcome=99", "to=99999-01-01", "agent=nobody", "patient=a/b/c"] {
                let bad = try await auditor.sendCopy(.get, "/audit?\(query)")
                #expect(bad.code == 400 && !bad.text.contains("<tbody>"), "\(query)")
            }
            for user in [w.admin, w.practitioner, w.patient] {
                let (b, _) = try await PortalPageTests.signedIn(s, user)
                #expect(try await b.sendCopy(.get, "/audit").code == 403)
            }
        }
    }
}
