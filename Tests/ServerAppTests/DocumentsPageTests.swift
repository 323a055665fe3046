import AI
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Dictated notes and scanned documents on the console: audio transcribed and an image's text
/// read into draft DocumentReferences for a patient in the clinician's care, corrected and
/// signed; nobody outside the care relationship adds or reads one.
@Suite struct DocumentsPageTests {
    static let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AITests/Fixtures/prescription.png")

    @Test(arguments: TestDatabaseKind.allCases)
    func aClinicianDictatesCorrectsAndSignsAndScansALetter(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            let (clinician, csrf) = try await PortalPageTests.signedIn(s, w.practitioner)
            let base = "/console/patients/\(w.pa)/documents"
            let empty = try await clinician.sendCopy(.get, base)
            #expect(empty.code == 200 && empty.text.contains("Dictate a note") && empty.text.contains("No documents yet."))
            #expect(try await clinician.sendCopy(.get, "/console/patients/\(w.pa)").text.contains("href=\"\(base)\">Documents</a>"))

            // a dictation (Piper speaking, as a stand-in for a clinician), transcribed into a draft
            let spoken = try await s.services.ai.speak(
                SpeechRequest(text: "The patient reports a mild headache since Monday and sleeps well.", language: "en-US", voice: "en-us-joe"))
            let dictated = try await MessagingPageTests.post(s, clinician, "\(base)/dictation", [("csrf", csrf)], file: ("note.wav", spoken.bytes))
            #expect(dictated.code == 303 && dictated.headers[.location] == "\(base)?done=documents.drafted")
            let drafts = try await s.get("/fhir/DocumentReference?patient=\(w.pa)")
            #expect(drafts.entries.count == 1)
            let draft = try #require(drafts.entries.first?["resource"])
            #expect(draft["docStatus"]?.stringValue == "preliminary" && draft["author"]?.arrayValue?.first?["reference"]?.stringValue == "Practitioner/\(w.prx)")
            #expect(draft["description"]?.stringValue?.contains("machine transcription (faster-whisper)") == true)
            let transcript = String(decoding: Data(base64Encoded: draft["content"]?.arrayValue?.first?["attachment"]?["data"]?.stringValue ?? "") ?? Data(), as: UTF8.self)
            #expect(transcript.lowercased().contains("mild headache since monday"), "\(transcript)")
            let page = try await clinician.sendCopy(.get, "\(base)?done=documents.drafted")
            #expect(page.text.contains("read it and correct it before signing") && page.text.contains("<span class=\"badge\">Draft</span>"))

            // corrected and signed; a signed document cannot be signed again
            let id = try #require(draft["id"]?.stringValue)
            // an empty note is not signed, and says so (not "the draft changed")
            let blank = try await MessagingPageTests.post(s, clinician, "\(base)/\(id)/sign", [("csrf", csrf), ("version", "1"), ("text", "  ")])
            #expect(blank.code == 400 && blank.text.contains("Write the note"))
            let signed = try await MessagingPageTests.post(
                s, clinician, "\(base)/\(id)/sign",
                [("csrf", csrf), ("version", "1"), ("text", "Mild headache since Monday.\u{0} Sleeps well. Plan: paracetamol 500 mg as needed.")])
            #expect(signed.code == 303)
            let final = try await s.get("/fhir/DocumentReference/\(id)")
            #expect(final["docStatus"]?.stringValue == "final" && final["authenticator"]?["reference"]?.stringValue == "Practitioner/\(w.prx)")
            let text = String(decoding: Data(base64Encoded: final["content"]?.arrayValue?.first?["attachment"]?["data"]?.stringValue ?? "") ?? Data(), as: UTF8.self)
            #expect(text == "Mild headache since Monday. Sleeps well. Plan: paracetamol 500 mg as needed.")
            #expect(try await MessagingPageTests.post(s, clinician, "\(base)/\(id)/sign", [("csrf", csrf), ("version", "2"), ("text", "x")]).code == 404)

            // a scanned letter: the image kept, its text read into a draft
            let png = try [UInt8](Data(contentsOf: Self.image))
            let scanned = try await MessagingPageTests.post(s, clinician, "\(base)/scan", [("csrf", csrf)], file: ("letter.png", png))
            #expect(scanned.code == 303)
            let docs = try await s.get("/fhir/DocumentReference?patient=\(w.pa)&_sort=-date")
            let scan = try #require(docs.entries.first { $0["resource"]?["type"]?["text"]?.stringValue == "Scanned document" }?["resource"])
            let parts = scan["content"]?.arrayValue ?? []
            #expect(parts.count == 2 && parts[1]["attachment"]?["contentType"]?.stringValue == "image/png" && parts[1]["attachment"]?["size"] == .int(png.count))
            let read = String(decoding: Data(base64Encoded: parts[0]["attachment"]?["data"]?.stringValue ?? "") ?? Data(), as: UTF8.self)
            #expect(read.hasPrefix("Take 2 tablets of paracetamol 500 mg every 6 hours."))

            // not audio, not an image: refused, nothing stored
            #expect(try await MessagingPageTests.post(s, clinician, "\(base)/dictation", [("csrf", csrf)], file: ("x.wav", Array("not audio".utf8))).code == 422)
            #expect(try await MessagingPageTests.post(s, clinician, "\(base)/scan", [("csrf", csrf)], file: ("x.png", Array("not an image".utf8))).code == 400)
            #expect(try await s.get("/fhir/DocumentReference?patient=\(w.pa)").entries.count == 2)

            // audited as uses of the patient's data, the refused ones too (with their failure)
            for subtype in ["ai-transcribe", "ai-ocr"] {
                let trail = try await s.get("/fhir/AuditEvent?subtype=\(subtype)&patient=Patient/\(w.pa)").entries.compactMap { $0["resource"]?["outcome"]?.stringValue }
                #expect(trail.sorted() == ["0", "4"], "\(subtype): \(trail)")
            }

            // a clinician without care, and a patient, get nothing and add nothing
            let young = try await s.services.identity.accounts.create(
                email: "y@example.org", role: .practitioner, password: AccessWorld.password, patientID: nil, practitionerID: w.pry)
            let (outsider, outsiderCSRF) = try await PortalPageTests.signedIn(s, young)
            #expect(try await outsider.sendCopy(.get, base).code == 403)
            #expect(try await MessagingPageTests.post(s, outsider, "\(base)/dictation", [("csrf", outsiderCSRF)], file: ("note.wav", spoken.bytes)).code == 403)
            #expect(try await MessagingPageTests.post(s, outsider, "\(base)/\(id)/sign", [("csrf", outsiderCSRF), ("version", "2"), ("text", "x")]).code == 403)
            let (patient, _) = try await PortalPageTests.signedIn(s, w.patient)
            #expect(try await patient.sendCopy(.get, base).code == 403)
            #expect(try await s.get("/fhir/DocumentReference?patient=\(w.pa)").entries.count == 2)
        }
    }
}
