import AI
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Listening to messages and reading them translated, on the message pages: a message keeps
/// the language its writer's page was in, the other side's page offers it translated into its
/// own language (labelled machine translation, doses and medication names as written), and
/// every message can be heard; nobody outside the thread hears or reads it.
@Suite struct MessageSpeechTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func aSpanishMessageIsTranslatedAndSpokenForTheClinicianOnly(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            var (patient, csrf) = try await PortalPageTests.signedIn(s, w.patient)
            patient.cookie! += "; hh_lang=es"
            let sent = try await MessagingPageTests.post(
                s, patient, "/portal/messages",
                [("csrf", csrf), ("kind", "general"), ("topic", "Dolor"), ("text", "Me duele la cabeza desde el lunes.\nTomo 500 mg de paracetamol cada 8 horas.")])
            #expect(sent.code == 303)
            let thread = String(try #require(sent.headers[.location]).dropFirst("/portal/messages/".count).prefix { $0 != "?" })
            #expect(try await s.get("/fhir/Communication/\(thread)")["language"]?.stringValue == "es")
            // the patient's own page is in Spanish: nothing to translate, but it can be heard
            let own = try await patient.sendCopy(.get, "/portal/messages/\(thread)")
            #expect(own.text.contains("<div lang=\"es\"><p>Me duele la cabeza desde el lunes.</p>") && !own.text.contains("?translate=1"))
            let heard = try await patient.sendCopy(.get, "/portal/messages/\(thread)/listen/\(thread)")
            #expect(heard.code == 200 && heard.headers[.contentType] == "audio/wav" && heard.bytes.starts(with: Array("RIFF".utf8)))

            // the clinician's English page offers the translation, then shows it beside the original
            let (clinician, _) = try await PortalPageTests.signedIn(s, w.practitioner)
            let page = try await clinician.sendCopy(.get, "/console/inbox/\(thread)")
            #expect(page.text.contains("href=\"/console/inbox/\(thread)?translate=1\">Translate into English</a>"))
            #expect(!page.text.contains("class=\"translation\""))
            let translated = try await clinician.sendCopy(.get, "/console/inbox/\(thread)?translate=1")
            let block = try #require(translated.text.components(separatedBy: "<div class=\"translation\" lang=\"en\">").dropFirst().first?.components(separatedBy: "</div>").first)
            #expect(block.contains("<strong>Machine translation. It can be wrong") && block.contains("(apertium)"))
            #expect(block.contains("500 mg") && block.contains("paracetamol") && block.contains("8") && block.lowercased().contains("head"))
            #expect(translated.text.contains("<div lang=\"es\"><p>Me duele la cabeza desde el lunes.</p>"))
            #expect(translated.text.contains("href=\"/console/inbox/\(thread)\">Show the originals only</a>"))
            for path in ["/console/inbox/\(thread)/listen/\(thread)", "/console/inbox/\(thread)/listen/\(thread)?translated=1"] {
                let audio = try await clinician.sendCopy(.get, path)
                #expect(audio.code == 200 && audio.bytes.starts(with: Array("RIFF".utf8)), "\(path)")
            }
            // the clinician heard it: audited as a use of the patient's message
            let audit = try await s.get("/fhir/AuditEvent?subtype=ai-speech&agent=Practitioner/\(w.prx)&patient=Patient/\(w.pa)")
            #expect(audit.entries.count == 2)
            #expect(!audit.text.contains("cabeza"))

            // someone else: another patient, a clinician without care, a message of another thread
            let other = try await s.services.identity.accounts.create(email: "b@example.org", role: .patient, password: AccessWorld.password, patientID: w.pb, practitionerID: nil)
            let (stranger, _) = try await PortalPageTests.signedIn(s, other)
            let refused = try await stranger.sendCopy(.get, "/portal/messages/\(thread)/listen/\(thread)")
            #expect(refused.code == 403 && !refused.bytes.starts(with: Array("RIFF".utf8)))
            let young = try await s.services.identity.accounts.create(
                email: "y@example.org", role: .practitioner, password: AccessWorld.password, patientID: nil, practitionerID: w.pry)
            let (outsider, _) = try await PortalPageTests.signedIn(s, young)
            #expect(try await outsider.sendCopy(.get, "/console/inbox/\(thread)/listen/\(thread)").code == 403)
            let elsewhere = try await patient.sendCopy(.get, "/portal/messages/\(ResourceID.generate())/listen/\(thread)")
            #expect(elsewhere.code == 404)
            #expect(try await patient.sendCopy(.get, "/portal/messages/\(thread)/listen/..%2F..").code >= 400)
        }
    }
}

/// The red-flag layer on patients' messages: an emergency gets the emergency number at once
/// and shows as a possible emergency in the team inbox; other messages and staff answers do not.
@Suite struct MessageRedFlagTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func anEmergencyInAMessageIsAnsweredWithTheNumberAndFlaggedForStaff(_ kind: TestDatabaseKind) async throws {
        var configuration = PortalPageTests.configuration
        configuration.ai.emergencyRegion = "IE"
        try await TestServer.run(kind, configuration: configuration) { s in
            let w = try await AccessWorld.make(s)
            let (patient, csrf) = try await PortalPageTests.signedIn(s, w.patient)
            let sent = try await MessagingPageTests.post(
                s, patient, "/portal/messages", [("csrf", csrf), ("kind", "general"), ("topic", "Help"), ("text", "I cant breath properly and my lips are going blue")])
            let location = try #require(sent.headers[.location])
            #expect(location.hasSuffix("?done=messages.emergency"))
            let thread = String(location.dropFirst("/portal/messages/".count).prefix { $0 != "?" })
            let page = try await patient.sendCopy(.get, location)
            #expect(
                page.text.contains(
                    "<p class=\"flash bad\" role=\"status\">Your message was sent, but messages are not read straight away. If this is an emergency, call 112 now.</p>"))
            #expect(try await s.get("/fhir/Communication/\(thread)")["priority"]?.stringValue == "urgent")
            // an emergency in the subject only, or hidden by zero-width spaces, is one too
            let subject = try await MessagingPageTests.post(
                s, patient, "/portal/messages", [("csrf", csrf), ("kind", "general"), ("topic", "I can't breathe"), ("text", "see subject")])
            #expect(subject.headers[.location]?.hasSuffix("?done=messages.emergency") == true)
            // an ordinary one is not flagged
            let calm = try await MessagingPageTests.post(
                s, patient, "/portal/messages", [("csrf", csrf), ("kind", "general"), ("topic", "Parking"), ("text", "Is there parking at the clinic?")])
            #expect(calm.headers[.location]?.hasSuffix("?done=messages.sent") == true)
            // the team sees which is which; a clinician writing about chest pain is not flagged
            let (clinician, staffCSRF) = try await PortalPageTests.signedIn(s, w.practitioner)
            let inbox = try await clinician.sendCopy(.get, "/console/inbox")
            #expect(inbox.text.components(separatedBy: "Possible emergency").count == 3)
            func row(_ html: String, _ topic: String) -> String { html.components(separatedBy: "<tr>").first { $0.contains(">\(topic)</a>") } ?? "" }
            #expect(!row(inbox.text, "Parking").contains("Possible emergency") && row(inbox.text, "Help").contains("Possible emergency"))
            // an emergency in a reply flags its thread in the inbox
            let calmThread = String(try #require(calm.headers[.location]).dropFirst("/portal/messages/".count).prefix { $0 != "?" })
            let worse = try await MessagingPageTests.post(
                s, patient, "/portal/messages/\(calmThread)", [("csrf", csrf), ("text", "Now I have severe chest pain and I\u{200B}m sweating")])
            #expect(worse.headers[.location]?.hasSuffix("?done=messages.emergency") == true)
            #expect(row(try await clinician.sendCopy(.get, "/console/inbox").text, "Parking").contains("Possible emergency"))
            #expect(try await clinician.sendCopy(.get, "/console/inbox/\(thread)").text.contains("<span class=\"badge cancelled\">Possible emergency</span>"))
            let answer = try await MessagingPageTests.post(s, clinician, "/console/inbox/\(thread)", [("csrf", staffCSRF), ("text", "If the chest pain comes back, call 112.")])
            #expect(answer.headers[.location]?.hasSuffix("?done=messages.sent") == true)
            let replies = try await s.get("/fhir/Communication?part-of=Communication/\(thread)")
            #expect(replies.entries.count == 1 && replies.entries[0]["resource"]?["priority"] == nil)
        }
    }
}
