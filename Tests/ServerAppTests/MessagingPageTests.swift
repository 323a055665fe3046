import FHIR
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import SQLKit
import ServerApp
import Storage
import TestSupport
import Testing

/// Secure messaging through the pages: a patient writes to their care team with an attachment,
/// the team inbox of a clinician in their care gets it, read receipts and unread counts follow,
/// and nobody else (another patient, a clinician without care) reaches the thread or its files.
@Suite struct MessagingPageTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array("rest-of-a-png".utf8)

    /// A multipart form post with `fields` and one file.
    static func multipart(_ fields: [(String, String)], file: (name: String, bytes: [UInt8])?) -> (String, [UInt8]) {
        let boundary = "hh-test-\(UInt32.random(in: 0...UInt32.max))"
        var body: [UInt8] = []
        for (k, v) in fields { body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(k)\"\r\n\r\n\(v)\r\n".utf8) }
        if let file {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.name)\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            body += file.bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    static func post(_ s: TestServer, _ browser: Browser, _ path: String, _ fields: [(String, String)], file: (name: String, bytes: [UInt8])? = nil) async throws
        -> TestServer.Reply
    {
        let (type, body) = multipart(fields, file: file)
        return try await s.request(.post, path, bytes: body, headers: [.cookie: browser.cookie!, .contentType: type], as: .anonymous)
    }

    static func count(_ s: TestServer, _ table: String) async throws -> Int {
        try await s.services.database.read { db in try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()!.decode(column: "n", as: Int.self) }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientWritesTheTeamAnswersAndNobodyElseSeesIt(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            let (patient, csrf) = try await PortalPageTests.signedIn(s, w.patient)
            // an attachment that only claims to be an image is refused, and nothing is stored
            let fake = try await Self.post(
                s, patient, "/portal/messages", [("csrf", csrf), ("kind", "general"), ("topic", "Rash"), ("text", "See the photo")], file: ("x.png", Array("<html>".utf8)))
            #expect(fake.code == 422)
            #expect(try await s.searchIDs("Communication").isEmpty)
            #expect(try await Self.count(s, "hh_thread") == 0)
            // a real one: the thread, its message, its Binary
            let sent = try await Self.post(
                s, patient, "/portal/messages", [("csrf", csrf), ("kind", "general"), ("topic", "Rash on my arm"), ("text", "It itches.\nSince Monday.")],
                file: ("rash.png", Self.png))
            #expect(sent.code == 303)
            let location = try #require(sent.headers[.location])
            let thread = String(location.dropFirst("/portal/messages/".count).prefix { $0 != "?" })
            let view = try await patient.sendCopy(.get, location)
            #expect(view.code == 200 && view.text.contains("Your message was sent.") && view.text.contains("<p>Since Monday.</p>"))
            let fileLink = try #require(view.text.components(separatedBy: "href=\"").dropFirst().first { $0.hasPrefix("/portal/messages/\(thread)/files/") }?.prefix { $0 != "\"" })
            let download = try await patient.sendCopy(.get, String(fileLink))
            #expect(download.code == 200 && download.headers[.contentType] == "image/png" && download.bytes == Self.png)
            #expect(try await s.get("/fhir/Communication/\(thread)")["payload"]?.arrayValue?.count == 2)

            // the clinician caring for the patient finds it in the team inbox, unread
            let (clinician, staffCSRF) = try await PortalPageTests.signedIn(s, w.practitioner)
            let inbox = try await clinician.sendCopy(.get, "/console/inbox")
            #expect(inbox.text.contains("Rash on my arm") && inbox.text.contains("1 unread") && inbox.text.contains(">Alvarez<"))
            let opened = try await clinician.sendCopy(.get, "/console/inbox/\(thread)")
            #expect(opened.code == 200 && opened.text.contains("It itches."))
            // the patient sees their message read
            #expect(try await patient.sendCopy(.get, "/portal/messages/\(thread)").text.contains("<span class=\"badge booked\">Read</span>"))
            // the clinician answers; the patient has one unread message and an email is due
            let answer = try await Self.post(s, clinician, "/console/inbox/\(thread)", [("csrf", staffCSRF), ("text", "Please send another photo tomorrow.")])
            #expect(answer.code == 303)
            #expect(try await patient.sendCopy(.get, "/portal").text.contains("<p class=\"count\">1</p>"))
            #expect(try await Self.count(s, "hh_job WHERE kind = 'message.notify'") == 1)
            // assignment and done
            #expect(try await clinician.sendCopy(.post, "/console/inbox/\(thread)/assign", form: [("csrf", staffCSRF), ("to", "me")]).code == 303)
            #expect(try await clinician.sendCopy(.get, "/console/inbox?show=mine").text.contains("Rash on my arm"))
            #expect(try await clinician.sendCopy(.post, "/console/inbox/\(thread)/done", form: [("csrf", staffCSRF)]).code == 303)
            #expect(!(try await clinician.sendCopy(.get, "/console/inbox").text.contains("Rash on my arm")))
            #expect(try await clinician.sendCopy(.get, "/console/inbox?show=done").text.contains("Rash on my arm"))
            // a new version of the first message (through the API) keeps the thread's state
            let root = try #require(try await s.get("/fhir/Communication/\(thread)").body)
            #expect(try await s.request(.put, "/fhir/Communication/\(thread)", json: root).code == 200)
            #expect(try await clinician.sendCopy(.get, "/console/inbox?show=done").text.contains("Rash on my arm"))
            // the patient writing again reopens it
            #expect(try await Self.post(s, patient, "/portal/messages/\(thread)", [("csrf", csrf), ("text", "Here it is.")]).code == 303)
            #expect(try await clinician.sendCopy(.get, "/console/inbox").text.contains("Rash on my arm"))

            // nobody else: another patient, a clinician who does not care for the patient
            let brennan = try await s.services.identity.accounts.create(
                email: "brennan@example.org", role: .patient, password: AccessWorld.password, patientID: w.pb, practitionerID: nil)
            let (other, otherCSRF) = try await PortalPageTests.signedIn(s, brennan)
            let young = try await s.services.identity.accounts.create(
                email: "young@example.org", role: .practitioner, password: AccessWorld.password, patientID: nil, practitionerID: w.pry)
            let (stranger, _) = try await PortalPageTests.signedIn(s, young)
            for (b, path) in [
                (other, "/portal/messages/\(thread)"), (other, String(fileLink)), (stranger, "/console/inbox/\(thread)"),
                (stranger, String(fileLink).replacingOccurrences(of: "/portal/messages/", with: "/console/inbox/")),
            ] {
                let reply = try await b.sendCopy(.get, path)
                #expect(reply.code == 403, "\(path)")
                #expect(!reply.text.contains("Rash") && !reply.text.contains("itches"))
            }
            #expect(!(try await other.sendCopy(.get, "/portal/messages").text.contains("Rash")))
            #expect(!(try await stranger.sendCopy(.get, "/console/inbox").text.contains("Rash")))
            // nor can another patient reply into the thread
            let intrusion = try await Self.post(s, other, "/portal/messages/\(thread)", [("csrf", otherCSRF), ("text", "hello")])
            #expect(intrusion.code == 403)
            // and through the API, a reply must belong to a thread of the same patient
            let crossed = try await s.post(
                "/fhir/Communication",
                j(
                    #"{"resourceType":"Communication","status":"completed","category":[{"coding":[{"system":"https://healthhub.dev/fhir/CodeSystem/message-type","code":"general"}]}],"subject":{"reference":"Patient/\#(w.pb)"},"sender":{"reference":"Patient/\#(w.pb)"},"partOf":[{"reference":"Communication/\#(thread)"}],"payload":[{"contentString":"x"}]}"#
                ))
            #expect(crossed.code == 422 && crossed.issueExpressions == ["Communication.partOf"])
            // every page that showed the thread is audited, naming the patient
            let audit = try await s.get("/fhir/AuditEvent?subtype=page-view&patient=Patient/\(w.pa)&_count=100")
            #expect(audit.entries.count >= 6)
        }
    }
}

extension Browser {
    /// `send` on a copy (the tests keep one cookie per browser; pages set no other cookie here).
    func sendCopy(_ method: HTTPRequest.Method, _ path: String, form: [(String, String)]? = nil) async throws -> TestServer.Reply {
        var copy = self
        return try await copy.send(method, path, form: form)
    }
}
