import AI
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// The AI services' API through the whole gateway, on both databases (each call is audited).
@Suite struct AIAPITests {
    static let password = "correct horse battery staple 42"
    static let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AITests/Fixtures/prescription.png")

    @Test(arguments: TestDatabaseKind.allCases)
    func onlyPeopleWithATokenGetIn(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let auditor = try await s.services.identity.accounts.create(email: "a@example.org", role: .auditor, password: Self.password, patientID: nil, practitionerID: nil)
            let routes = s.routes.filter { $0.path.hasPrefix("/api/v1/") }
            #expect(
                Set(routes.map(\.description)).isSuperset(of: [
                    "POST /api/v1/speech (identified)", "POST /api/v1/translations (identified)", "POST /api/v1/ocr (identified)", "POST /api/v1/transcriptions (identified)",
                ]))
            for route in routes {
                let path = route.path
                let anonymous = try await s.request(route.method, path, body: "{}", as: .anonymous)
                #expect(anonymous.code == 401, "\(route)")
                let system = try await s.request(route.method, path, body: "{}")
                #expect(system.code == 403 && system.headers[.contentType] == "application/problem+json", "\(route)")
                let audit = try await s.request(route.method, path, body: "{}", as: .bearer(try s.token(for: auditor, scope: "user/AuditEvent.rs")))
                #expect(audit.code == 403, "\(route)")
            }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientHearsTranslatesAndReadsAndEachUseIsAuditedWithoutTheText(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let pid = try await s.create(j(#"{"resourceType":"Patient","name":[{"family":"Okafor"}]}"#))
            let user = try await s.services.identity.accounts.create(email: "p@example.org", role: .patient, password: Self.password, patientID: pid, practitionerID: nil)
            let me = TestServer.Caller.bearer(try s.token(for: user, scope: "patient/*.rs"))

            let voices = try await s.get("/api/v1/speech/voices", as: me)
            #expect(voices.code == 200 && (voices["voices"]?.arrayValue?.count ?? 0) >= 100)
            let spoken = try await s.request(.post, "/api/v1/speech", body: #"{"text":"Your test results are ready: haemoglobin zebra-quartz normal.","language":"en-GB"}"#, as: me)
            #expect(spoken.code == 200 && spoken.headers[.contentType] == "audio/wav" && spoken.bytes.starts(with: Array("RIFF".utf8)))
            #expect(spoken.headers[HTTPField.Name("X-Voice")!] == "en-gb")

            let languages = try await s.get("/api/v1/translations/languages", as: me)
            #expect(languages["engine"]?.stringValue == "apertium")
            #expect(languages["pairs"]?.arrayValue?.contains(["source": "en", "target": "es"]) == true)
            let translated = try await s.request(.post, "/api/v1/translations", body: #"{"text":"Take 500 mg of paracetamol every 6 hours.","source":"en","target":"es"}"#, as: me)
            #expect(translated.code == 200)
            #expect(translated["machineTranslation"] == .bool(true) && translated["engine"]?.stringValue == "apertium")
            #expect(translated["text"]?.stringValue?.contains("500 mg") == true && translated["text"]?.stringValue?.contains("paracetamol") == true)
            #expect(translated["label"]?.stringValue?.hasPrefix("Machine translation by apertium") == true)

            let read = try await s.request(.post, "/api/v1/ocr?language=eng", bytes: try [UInt8](Data(contentsOf: Self.image)), headers: [.contentType: "image/png"], as: me)
            #expect(read.code == 200 && read["text"]?.stringValue?.hasPrefix("Take 2 tablets of paracetamol 500 mg") == true)
            // a scan of a few MB passes the gateway (its default for /api is 1 MB)
            let large = try [UInt8](Data(contentsOf: Self.image)) + Array(repeating: 0, count: 3 << 20)
            #expect(try await s.request(.post, "/api/v1/ocr", bytes: large, headers: [.contentType: "image/png", .contentLength: String(large.count)], as: me).code == 200)

            let dictated = try await s.request(.post, "/api/v1/speech", body: #"{"text":"Please bring your medicines to the clinic on Friday.","voice":"en-us-joe"}"#, as: me)
            #expect(dictated.code == 200 && dictated.headers[HTTPField.Name("X-Engine")!] == "piper")
            let heard = try await s.request(.post, "/api/v1/transcriptions?language=en&prompt=clinic", bytes: dictated.bytes, headers: [.contentType: "audio/wav"], as: me)
            #expect(heard.code == 200 && heard["engine"]?.stringValue == "faster-whisper" && heard["language"]?.stringValue == "en")
            #expect(heard["text"]?.stringValue?.lowercased().contains("medicines to the clinic on friday") == true, "\(heard.text)")
            #expect((heard["segments"]?.arrayValue?.count ?? 0) >= 1)
            let notAudio = try await s.request(.post, "/api/v1/transcriptions", body: "hello", as: me)
            #expect(notAudio.code == 422 && notAudio["detail"]?.stringValue == "The audio is not WAV, OGG, MP3 or WebM")

            for (subtype, count) in [("ai-speech", 2), ("ai-translate", 1), ("ai-ocr", 2), ("ai-transcribe", 2)] {
                let trail = try await s.get("/fhir/AuditEvent?subtype=\(subtype)&agent=Patient/\(pid)")
                #expect(trail.entries.count == count, "\(subtype)")
                #expect(!trail.text.contains("zebra-quartz") && !trail.text.contains("paracetamol"))
            }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func badInputGetsAProblemThatSaysWhatToFix(_ kind: TestDatabaseKind) async throws {
        var configuration = HealthHubConfiguration()
        configuration.ai.textLimit = 200
        try await TestServer.run(kind, configuration: configuration) { s in
            let practitioner = try await s.create(j(#"{"resourceType":"Practitioner"}"#))
            let user = try await s.services.identity.accounts.create(
                email: "dr@example.org", role: .practitioner, password: Self.password, patientID: nil, practitionerID: practitioner)
            let me = TestServer.Caller.bearer(try s.token(for: user, scope: "user/*.rs"))
            let cases: [(String, String, Int, String)] = [
                ("/api/v1/speech", "not json", 422, "JSON object"),
                ("/api/v1/speech", #"{"language":"en"}"#, 422, "\"text\" is required"),
                ("/api/v1/speech", #"{"text":"   "}"#, 422, "text is empty"),
                ("/api/v1/speech", #"{"text":"hello","rate":9000}"#, 422, "rate must be 80-400"),
                // found by the outside attack pass: Int(1e300) stopped the server
                ("/api/v1/speech", #"{"text":"hello","rate":1e300}"#, 422, "rate must be a whole number"),
                ("/api/v1/speech", #"{"text":"hello","rate":160.5}"#, 422, "rate must be a whole number"),
                ("/api/v1/speech", #"{"text":"hello","language":123}"#, 422, "\"language\" must be a string"),
                ("/api/v1/speech", #"{"text":"hello","format":"mp3"}"#, 422, "format must be wav or ogg"),
                ("/api/v1/speech", #"{"text":"hello","language":"tlh"}"#, 422, "No voice speaks"),
                ("/api/v1/speech", "{\"text\":\"\(String(repeating: "a", count: 201))\"}", 413, "the limit is 200"),
                ("/api/v1/translations", #"{"text":"hello","source":"en","target":"tlh"}"#, 422, "No translation from"),
                ("/api/v1/translations", #"{"text":"hello","source":"en"}"#, 422, "\"source\" and \"target\" are required"),
                ("/api/v1/ocr", "plain text", 422, "not PNG"),
            ]
            for (path, body, status, says) in cases {
                let reply = try await s.request(.post, path, body: body, as: me)
                #expect(reply.code == status, "\(path) \(body.prefix(40)): \(reply.code) \(reply.text)")
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect(reply["detail"]?.stringValue?.contains(says) == true, "\(reply.text)")
                #expect(reply["request_id"]?.stringValue?.isEmpty == false)
            }
            // starts like a PNG but is not one: the upload's fault (422), and nothing of the engine's own messages
            let broken = try await s.request(.post, "/api/v1/ocr", bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0x00, count: 50), as: me)
            #expect(broken.code == 422 && broken["detail"]?.stringValue == "The image could not be read: it may be damaged or cut short")
            // a refused call is audited too, with the reason
            let refused = try await s.get("/fhir/AuditEvent?subtype=ai-speech&agent=Practitioner/\(practitioner)")
            #expect(refused.entries.count == 9)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aCapabilitySwitchedOffSaysSoAndReadinessReportsEachEngine(_ kind: TestDatabaseKind) async throws {
        var configuration = HealthHubConfiguration()
        configuration.ai.translation = .off
        try await TestServer.run(kind, configuration: configuration) { s in
            let pid = try await s.create(j(#"{"resourceType":"Patient"}"#))
            let user = try await s.services.identity.accounts.create(email: "p@example.org", role: .patient, password: Self.password, patientID: pid, practitionerID: nil)
            let me = TestServer.Caller.bearer(try s.token(for: user, scope: "patient/*.rs"))
            let off = try await s.request(.post, "/api/v1/translations", body: #"{"text":"hello","source":"en","target":"es"}"#, as: me)
            #expect(off.code == 503 && off["detail"]?.stringValue?.contains("HEALTHHUB_AI_TRANSLATION") == true)
            let ready = try await s.get("/ready", as: .anonymous)
            #expect(ready.code == 200)
            #expect(ready["engines"]?["translation"]?.stringValue == "off")
            #expect(ready["engines"]?["speech"]?.stringValue?.hasPrefix("espeak-ng+piper: ready,") == true)
            #expect(ready["engines"]?["transcription"]?.stringValue == "faster-whisper: ready, starts on first use")
            #expect(ready["engines"]?["ocr"]?.stringValue?.hasPrefix("tesseract: ready,") == true)
        }
    }
}
