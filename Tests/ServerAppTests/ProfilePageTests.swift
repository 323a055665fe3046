import Events
import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import Mail
import ServerApp
import TestSupport
import Testing

/// The portal's profile (contact details, language, notification choices, kept on the Patient
/// record) and connected apps (lasting grants, each ended by its button).
@Suite struct ProfilePageTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientKeepsTheirContactDetailsAndChoosesTextMessages(_ kind: TestDatabaseKind) async throws {
        let provider = try await TwilioStandIn.start()
        var configuration = PortalPageTests.configuration
        configuration.mail.smsURL = provider.url
        configuration.mail.smsFrom = "+15550100100"
        let settings = configuration
        try await TestServer.run(kind, configuration: settings) { s in
            let w = try await AccessWorld.make(s)
            let (b, csrf) = try await PortalPageTests.signedIn(s, w.patient)
            var patient = b
            let page = try await patient.send(.get, "/portal/profile")
            #expect(page.code == 200 && page.text.contains("name=\"mobile\""))
            let version = try #require(Browser.field("version", in: page.text))
            func save(_ fields: [(String, String)], version: String = version) async throws -> TestServer.Reply {
                try await patient.send(.post, "/portal/profile", form: [("csrf", csrf), ("version", version)] + fields)
            }
            // what is wrong is said, and nothing is written
            for (fields, text) in [
                ([("mobile", "555-0102"), ("byEmail", "1")], "country code"), ([("email", "ana@example.org"), ("bySMS", "1")], "need a mobile number"),
                ([("email", "not an address"), ("byEmail", "1")], "not valid"),
            ] {
                let refused = try await save(fields)
                #expect(refused.code == 400 && refused.text.contains(text), "\(fields)")
            }
            #expect(try await s.get("/fhir/Patient/\(w.pa)")["meta"]?["versionId"]?.stringValue == version)
            let saved = try await save([
                ("email", "ana@example.org"), ("mobile", "+1 (555) 010-0102"), ("line", "12 Elm St"), ("city", "Springfield"), ("postalCode", "01101"),
                ("language", "es"), ("byEmail", "1"), ("bySMS", "1"),
            ])
            #expect(saved.code == 303 && saved.headers[.location] == "/portal/profile?done=profile.saved")
            #expect(saved.headers[.setCookie]?.hasPrefix("hh_lang=es") == true)
            // ... and follows the patient to a browser that has no language cookie, at sign-in's end
            let (elsewhere, _) = try await PortalPageTests.signedIn(s, w.patient)
            let home = try await elsewhere.sendCopy(.get, "/home")
            #expect(home.code == 303 && home.headers[.location] == "/portal" && home.headers[.setCookie]?.hasPrefix("hh_lang=es") == true)
            let record = try await s.get("/fhir/Patient/\(w.pa)").body!
            #expect(record["name"]?.arrayValue?.first?["family"]?.stringValue == "Alvarez")  // the rest is kept
            #expect(PatientContact(patient: record) == PatientContact(email: "ana@example.org", mobile: "+15550100102", wantsEmail: true, wantsSMS: true))
            #expect(record["address"]?.arrayValue?.first?["city"]?.stringValue == "Springfield")
            #expect(record["communication"]?.arrayValue?.first?["language"]?["coding"]?.arrayValue?.first?["code"]?.stringValue == "es")
            // a form filled in on an older version does not overwrite a newer one
            let stale = try await save([("email", "other@example.org"), ("byEmail", "1")])
            #expect(stale.code == 400 && stale.text.contains("changed elsewhere"), "\(stale.code) \(stale.text.suffix(800))")
            // the care team writes: the patient gets a text (and no email is set up here)
            let staff = try w.caller(w.practitioner, "user/*.cruds")
            let message = try await s.post(
                "/fhir/Communication",
                j(
                    #"{"resourceType":"Communication","status":"completed","category":[{"coding":[{"system":"https://healthhub.dev/fhir/CodeSystem/message-type","code":"general"}]}],"subject":{"reference":"Patient/\#(w.pa)"},"sender":{"reference":"Practitioner/\#(w.prx)"},"topic":{"text":"Your results"},"payload":[{"contentString":"Your HbA1c is fine."}]}"#
                ), as: staff)
            #expect(message.code == 201)
            _ = try await jobRunner(s.services, settings).runDue()
            #expect(provider.messages.map(\.to) == ["+15550100102"])
            #expect(provider.messages.first?.body == "HealthHub: Your care team has sent you a message. Sign in to read it.")
            #expect(provider.messages.first?.body.contains("HbA1c") == false)
            // the profile is the patient's own: staff get no such page, and it is audited
            let (clinician, _) = try await PortalPageTests.signedIn(s, w.practitioner)
            #expect(try await clinician.sendCopy(.get, "/portal/profile").code == 403)
            #expect(try await s.get("/fhir/AuditEvent?subtype=update&agent=Patient/\(w.pa)").entries.count == 1)
        }
        try await provider.stop()
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aConnectedAppIsListedAndItsAccessEndsAtTheButton(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            let (client, _) = try await s.services.identity.clients.create(
                name: "Glucose Diary", scopes: "openid patient/Observation.rs offline_access", redirectURIs: ["https://app.example/cb"], isPublic: true, jwks: nil)
            let grants = s.services.identity.grants
            let refresh = try await grants.issueRefresh(
                .init(family: "fam-ana", clientID: client.id, userID: w.patient.id, scope: ScopeSet("patient/Observation.rs offline_access"), patientID: w.pa))
            // another patient's grant of the same app
            let bea = try await s.services.identity.accounts.create(email: "bea@example.org", role: .patient, password: AccessWorld.password, patientID: w.pb, practitionerID: nil)
            _ = try await grants.issueRefresh(.init(family: "fam-bea", clientID: client.id, userID: bea.id, scope: ScopeSet("patient/*.rs"), patientID: w.pb))
            let (b, csrf) = try await PortalPageTests.signedIn(s, w.patient)
            var patient = b
            let apps = try await patient.send(.get, "/portal/apps")
            #expect(apps.code == 200 && apps.text.contains("Glucose Diary") && apps.text.contains("patient/Observation.rs offline_access"))
            #expect(apps.text.components(separatedBy: "/revoke\"").count == 2)  // one app: Bea's grant is not shown
            // another person's grant cannot be ended from here
            #expect(try await patient.send(.post, "/portal/apps/fam-bea/revoke", form: [("csrf", csrf)]).code == 404)
            #expect(try await grants.connections(userID: bea.id).count == 1)
            let ended = try await patient.send(.post, "/portal/apps/fam-ana/revoke", form: [("csrf", csrf)])
            #expect(ended.headers[.location] == "/portal/apps?done=apps.revoked")
            #expect(try await grants.connections(userID: w.patient.id).isEmpty)
            await #expect(throws: IdentityError.self) { _ = try await grants.rotate(refresh, clientID: client.id, scope: nil) }
            #expect(try await patient.send(.get, "/portal/apps?done=apps.revoked").text.contains("access has ended"))
            // both attempts are audited: the refused one as a failure
            let audited = try await s.get("/fhir/AuditEvent?subtype=app-revoke&agent=Patient/\(w.pa)")
            #expect(audited.entries.compactMap { $0["resource"]?["outcome"]?.stringValue }.sorted() == ["0", "4"])
        }
    }
}
