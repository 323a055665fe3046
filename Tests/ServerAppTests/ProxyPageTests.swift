import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import Mail
import ServerApp
import TestSupport
import Testing

/// Proxy access: a patient shares their portal with a caregiver and takes it back; staff give a
/// parent access to a child's record; the proxy acts as the patient's RelatedPerson, chooses
/// whose record the pages show, and never manages the patient's proxies.
@Suite struct ProxyPageTests {
    /// The RelatedPersons of a patient (read as the system).
    static func related(_ s: TestServer, _ patient: String) async throws -> [JSON] {
        try await s.get("/fhir/RelatedPerson?patient=\(patient)").entries.compactMap { $0["resource"] }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientSharesTheirRecordWithACaregiverAndTakesItBack(_ kind: TestDatabaseKind) async throws {
        let smtp = try await SMTPStandIn.start()
        try await TestServer.run(kind, configuration: AccountLinkTests.configuration(smtp)) { s in
            let w = try await AccessWorld.make(s)
            let (patient, csrf) = try await PortalPageTests.signedIn(s, w.patient)
            let page = try await patient.sendCopy(.get, "/portal/proxies")
            #expect(page.code == 200 && page.text.contains("Nobody else has access.") && page.text.contains("href=\"/portal/proxies\""))
            func give(_ fields: [(String, String)]) async throws -> TestServer.Reply {
                try await patient.sendCopy(.post, "/portal/proxies", form: [("csrf", csrf)] + fields)
            }
            // what is wrong is said, and nothing is written
            for (fields, text) in [
                ([("name", "Carmen"), ("email", "not an address"), ("relationship", "SPS")], "Give a name"),
                ([("name", "Carmen"), ("email", "carmen@example.org"), ("relationship", "BOSS")], "Give a name"),
                ([("name", "Dr Xu"), ("email", w.practitioner.email), ("relationship", "FRND")], "staff account"),
                ([("name", "Me"), ("email", w.patient.email), ("relationship", "FRND")], "own account"),
            ] {
                let refused = try await give(fields)
                #expect(refused.code == 400 && refused.text.contains(text), "\(fields)")
            }
            #expect(try await Self.related(s, w.pa).isEmpty)

            let given = try await give([("name", "Carmen Alvarez"), ("email", "Carmen@Example.org"), ("relationship", "SPS")])
            #expect(given.code == 303 && given.headers[.location] == "/portal/proxies?done=proxies.emailed")
            let people = try await Self.related(s, w.pa)
            #expect(people.count == 1)
            let rp = try #require(people.first?["id"]?.stringValue)
            #expect(people.first?["active"]?.boolValue == true && people.first?["name"]?.arrayValue?.first?["text"]?.stringValue == "Carmen Alvarez")
            #expect(people.first?["relationship"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue == "SPS")
            // the invitation names no patient
            let link = try #require(try await AccountLinkTests.link(to: "carmen@example.org", in: smtp))
            #expect(smtp.messages.last?.data.contains("Alvarez") == false)
            #expect(try await AccountLinkTests.choose("plum-harbor-8812-stone", link: link, s).text.contains("Your password is set"))
            #expect(try await AccountLinkTests.signsIn(s, "carmen@example.org", "plum-harbor-8812-stone"))
            let carer = try #require(try await s.services.identity.accounts.find(email: "carmen@example.org"))
            #expect(carer.role == .patient && carer.patientID == nil)
            let (admin, _) = try await PortalPageTests.signedIn(s, w.admin)
            #expect(try await admin.sendCopy(.get, "/admin").text.contains("<td>caregiver</td>"))
            #expect(try await patient.sendCopy(.get, "/portal/proxies").text.contains("Carmen Alvarez"))
            #expect(try await give([("name", "Carmen"), ("email", "carmen@example.org"), ("relationship", "SPS")]).text.contains("already has access"))

            // the caregiver sees Alvarez's portal, as the RelatedPerson
            let (carerBrowser, carerCSRF) = try await PortalPageTests.signedIn(s, carer)
            let home = try await carerBrowser.sendCopy(.get, "/portal")
            #expect(home.code == 200 && home.text.contains("Record of <strong>Alvarez</strong>"))
            #expect(!home.text.contains("href=\"/portal/proxies\""))
            #expect(try await carerBrowser.sendCopy(.get, "/portal/records").code == 200)
            #expect(try await s.get("/fhir/AuditEvent?agent=RelatedPerson/\(rp)&patient=Patient/\(w.pa)").entries.count >= 2)
            // ... and manages nobody's access, nor reaches another record
            #expect(try await carerBrowser.sendCopy(.get, "/portal/proxies").code == 403)
            #expect(
                try await carerBrowser.sendCopy(.post, "/portal/proxies", form: [("csrf", carerCSRF), ("name", "X"), ("email", "x@example.org"), ("relationship", "FRND")]).code
                    == 403)
            #expect(try await carerBrowser.sendCopy(.post, "/portal/switch", form: [("csrf", carerCSRF), ("patient", w.pb)]).code == 403)
            // a message the caregiver writes is signed by them, and the patient sees who wrote it
            let sent = try await carerBrowser.sendCopy(
                .post, "/portal/messages", form: [("csrf", carerCSRF), ("kind", "general"), ("topic", "Ana's cough"), ("text", "Her cough is worse.")])
            #expect(sent.code == 303)
            let thread = String(try #require(sent.headers[.location]).dropFirst("/portal/messages/".count).prefix { $0 != "?" })
            #expect(try await s.get("/fhir/Communication/\(thread)")["sender"]?["reference"]?.stringValue == "RelatedPerson/\(rp)")
            #expect(try await patient.sendCopy(.get, "/portal/messages/\(thread)").text.contains("Carmen Alvarez (for the patient)"))

            // taken back: at once, and the RelatedPerson stays (inactive) for the audit trail
            let revoked = try await patient.sendCopy(.post, "/portal/proxies/\(rp)/revoke", form: [("csrf", csrf)])
            #expect(revoked.code == 303 && revoked.headers[.location] == "/portal/proxies?done=proxies.revoked")
            #expect(try await s.get("/fhir/RelatedPerson/\(rp)")["active"]?.boolValue == false)
            let after = try await carerBrowser.sendCopy(.get, "/portal")
            #expect(after.code == 403 && after.text.contains("no record to show"))
            #expect(try await patient.sendCopy(.post, "/portal/proxies/\(rp)/revoke", form: [("csrf", csrf)]).code == 404)
            for subtype in ["proxy-grant", "proxy-revoke"] {
                #expect(try await s.get("/fhir/AuditEvent?subtype=\(subtype)&agent=Patient/\(w.pa)").entries.count >= 1, "\(subtype)")
            }
        }
        try await smtp.stop()
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func staffGiveAParentAccessToAChildsRecordAndTheParentSwitchesBetweenRecords(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            // the parent is a patient here too (Brennan); the child is Alvarez, in Dr Xu's care
            let parent = try await s.services.identity.accounts.create(
                email: "brennan@example.org", role: .patient, password: AccessWorld.password, patientID: w.pb, practitionerID: nil)
            let (clinician, staffCSRF) = try await PortalPageTests.signedIn(s, w.practitioner)
            #expect(try await clinician.sendCopy(.get, "/console/patients/\(w.pa)").text.contains("/console/patients/\(w.pa)/proxies"))
            let given = try await clinician.sendCopy(
                .post, "/console/patients/\(w.pa)/proxies", form: [("csrf", staffCSRF), ("name", "Brennan"), ("email", "brennan@example.org"), ("relationship", "PRN")])
            // no email set up, and an existing account: nothing to hand over
            #expect(given.code == 303 && given.headers[.location] == "/console/patients/\(w.pa)/proxies?done=proxies.given")
            #expect(try await clinician.sendCopy(.get, "/console/patients/\(w.pa)/proxies").text.contains("brennan@example.org"))
            let rp = try #require(try await Self.related(s, w.pa).first?["id"]?.stringValue)
            // a practitioner without care of the patient can do none of it
            let young = try await s.services.identity.accounts.create(
                email: "young@example.org", role: .practitioner, password: AccessWorld.password, patientID: nil, practitionerID: w.pry)
            let (other, otherCSRF) = try await PortalPageTests.signedIn(s, young)
            #expect(try await other.sendCopy(.get, "/console/patients/\(w.pa)/proxies").code == 403)
            #expect(try await other.sendCopy(.post, "/console/patients/\(w.pa)/proxies/\(rp)/revoke", form: [("csrf", otherCSRF)]).code == 403)

            // the parent starts on their own record and switches to the child's
            let (browser, csrf) = try await PortalPageTests.signedIn(s, parent)
            #expect(try await browser.sendCopy(.get, "/portal").text.contains("Record of <strong>Brennan</strong>"))
            let choices = try await browser.sendCopy(.get, "/portal/switch")
            #expect(choices.code == 200 && choices.text.contains("Alvarez") && choices.text.contains("Brennan</strong> (your own)"))
            #expect(try await browser.sendCopy(.post, "/portal/switch", form: [("csrf", csrf), ("patient", w.pa)]).headers[.location] == "/portal")
            #expect(try await browser.sendCopy(.get, "/portal").text.contains("Record of <strong>Alvarez</strong>"))
            // the child's record, not the parent's
            let download = try await browser.sendCopy(.get, "/portal/download/record.json")
            let patients = try JSON.parse(Data(download.text.utf8))["entry"]?.arrayValue?.compactMap { e in
                e["resource"]?["resourceType"]?.stringValue == "Patient" ? e["resource"]?["id"]?.stringValue : nil
            }
            #expect(download.code == 200 && patients == [w.pa])
            #expect(try await browser.sendCopy(.post, "/portal/switch", form: [("csrf", csrf), ("patient", w.pb)]).code == 303)
            #expect(try await browser.sendCopy(.get, "/portal").text.contains("Record of <strong>Brennan</strong>"))
            // staff take it back; the parent keeps their own record
            #expect(try await browser.sendCopy(.post, "/portal/switch", form: [("csrf", csrf), ("patient", w.pa)]).code == 303)
            #expect(try await clinician.sendCopy(.post, "/console/patients/\(w.pa)/proxies/\(rp)/revoke", form: [("csrf", staffCSRF)]).code == 303)
            let home = try await browser.sendCopy(.get, "/portal")
            #expect(home.code == 200 && !home.text.contains("Record of"))
            #expect(try await browser.sendCopy(.post, "/portal/switch", form: [("csrf", csrf), ("patient", w.pa)]).code == 403)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func withoutEmailAPatientNeverHoldsAnInvitationLinkAndIsToldTheSameEitherWay(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            _ = try await s.services.identity.accounts.create(
                email: "brennan@example.org", role: .patient, password: AccessWorld.password, patientID: w.pb, practitionerID: nil)
            let (patient, csrf) = try await PortalPageTests.signedIn(s, w.patient)
            // (an outside attack pass chose the password of an address it gave access to, then received what others shared with it)
            var answers: [String] = []
            for email in ["someone.new@example.org", "brennan@example.org"] {
                let given = try await patient.sendCopy(.post, "/portal/proxies", form: [("csrf", csrf), ("name", "Someone"), ("email", email), ("relationship", "FRND")])
                #expect(given.code == 303 && !given.text.contains("token="), "\(email)")
                answers.append(given.headers[.location] ?? "")
                #expect(try await patient.sendCopy(.get, answers.last!).text.contains("token=") == false)
            }
            #expect(answers == Array(repeating: "/portal/proxies?done=proxies.givenNoMail", count: 2))
            // staff hand the link over in person
            let (clinician, staffCSRF) = try await PortalPageTests.signedIn(s, w.practitioner)
            let staff = try await clinician.sendCopy(
                .post, "/console/patients/\(w.pa)/proxies", form: [("csrf", staffCSRF), ("name", "Other"), ("email", "other.new@example.org"), ("relationship", "GUARD")])
            #expect(staff.code == 200 && staff.text.contains("/account/password?token="))
            // bad input is a 400 that writes nothing
            let before = try await Self.related(s, w.pa).count
            for (name, email) in [
                ("Ana", String(repeating: "a", count: 300) + "@example.org"), ("Ana\u{0}", "x1@example.org"), ("\u{200B}\u{200B}", "x2@example.org"), ("   ", "x3@example.org"),
            ] {
                let refused = try await patient.sendCopy(.post, "/portal/proxies", form: [("csrf", csrf), ("name", name), ("email", email), ("relationship", "FRND")])
                #expect(refused.code == 400 && refused.text.contains("Give a name"), "\(name.unicodeScalars.map(\.value)) \(email.prefix(20))")
            }
            #expect(try await Self.related(s, w.pa).count == before)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aMessageIsSignedByWhoeverWritesIt(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            func message(from sender: String) -> JSON {
                j(
                    #"{"resourceType":"Communication","status":"completed","category":[{"coding":[{"system":"https://healthhub.dev/fhir/CodeSystem/message-type","code":"general"}]}],"subject":{"reference":"Patient/\#(w.pa)"},"sender":{"reference":"\#(sender)"},"payload":[{"contentString":"Hello"}]}"#
                )
            }
            let patient = try w.caller(w.patient, "patient/*.cruds")
            let staff = try w.caller(w.practitioner, "user/*.cruds")
            for (caller, sender) in [(patient, "Practitioner/\(w.prx)"), (patient, "RelatedPerson/x1"), (staff, "Patient/\(w.pa)"), (staff, "Practitioner/\(w.pry)")] {
                let refused = try await s.post("/fhir/Communication", message(from: sender), as: caller)
                #expect(refused.code == 422 && refused.text.contains("whoever writes it"), "\(sender)")
            }
            #expect(try await s.searchIDs("Communication").isEmpty)
            #expect(try await s.post("/fhir/Communication", message(from: "Patient/\(w.pa)"), as: patient).code == 201)
            #expect(try await s.post("/fhir/Communication", message(from: "Practitioner/\(w.prx)"), as: staff).code == 201)
            // a backend service (an integration) may write for either side
            #expect(try await s.post("/fhir/Communication", message(from: "Practitioner/\(w.pry)")).code == 201)
        }
    }
}
