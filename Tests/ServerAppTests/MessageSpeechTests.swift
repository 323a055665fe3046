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
