import Foundation
import Kernel
import Mail
import TestSupport
import Testing

/// `SMSClient` against the local stand-in of Twilio's Messages API (`TwilioStandIn`, which
/// holds the provider's side of the contract as Twilio documents it), and the patient's choices
/// of how to be told.
@Suite struct SMSContractTests {
    @Test func aMessageReachesTheProviderAsItsAPIWantsIt() async throws {
        let provider = try await TwilioStandIn.start()
        let sms = try SMSClient(url: provider.url, from: "+1 (555) 010-0100")
        let sid = try await sms.send(to: "+44 20 7946 0958", "HealthHub: you have an appointment on Monday.")
        #expect(sid.hasPrefix("SM") && sid.count == 34)
        #expect(provider.messages == [.init(to: "+442079460958", from: "+15550100100", body: "HealthHub: you have an appointment on Monday.")])
        // long texts are cut to four segments, never refused for their length
        _ = try await sms.send(to: "+15550100101", String(repeating: "x", count: 5000))
        #expect(provider.messages.last?.body.count == 640)
        try await provider.stop()
    }

    @Test func theProvidersRefusalsAreTold() async throws {
        let provider = try await TwilioStandIn.start()
        let wrongToken = try SMSClient(url: "twilio+http://\(provider.account):nope@127.0.0.1:\(provider.port)", from: "+15550100100")
        await #expect(throws: SMSClient.SMSError.refused(status: 401, code: 20003)) { try await wrongToken.send(to: "+15550100101", "hi") }
        let otherAccount = try SMSClient(url: "twilio+http://ACother:\(provider.token)@127.0.0.1:\(provider.port)", from: "+15550100100")
        await #expect(throws: SMSClient.SMSError.refused(status: 404, code: 20404)) { try await otherAccount.send(to: "+15550100101", "hi") }
        // what the client can check itself never leaves it
        let sms = try SMSClient(url: provider.url, from: "+15550100100")
        for bad in ["", "5550100101", "+0123456789", "+1555", "+1 555 010 0101 ext 4", "+١٢٣٤٥٦٧٨٩٠"] {
            await #expect(throws: SMSClient.SMSError.badNumber, "\(bad)") { try await sms.send(to: bad, "hi") }
        }
        #expect(provider.messages.isEmpty)
        try await provider.stop()
    }

    @Test func settingsAreCheckedAndTokensStayOnThisMachine() throws {
        #expect(throws: SMSClient.SMSError.self) { try SMSClient(url: "twilio://api.twilio.com", from: "+15550100100") }
        #expect(throws: SMSClient.SMSError.self) { try SMSClient(url: "https://AC1:tok@api.twilio.com", from: "+15550100100") }
        #expect(throws: SMSClient.SMSError.self) { try SMSClient(url: "twilio+http://AC1:tok@api.twilio.com", from: "+15550100100") }
        #expect(throws: SMSClient.SMSError.badNumber) { try SMSClient(url: "twilio://AC1:tok@api.twilio.com", from: "clinic") }
        let real = try SMSClient(url: "twilio://AC1:t%40k@api.twilio.com", from: "+15550100100")
        #expect(real.base == "https://api.twilio.com" && real.account == "AC1")
    }

    @Test func aPatientIsToldTheWaysTheyChose() async throws {
        let provider = try await TwilioStandIn.start()
        let smtp = try await SMTPStandIn.start()
        let notifier = Notifier(mail: try SMTPClient(url: "smtp://127.0.0.1:\(smtp.port)"), from: "clinic@example.org", sms: try SMSClient(url: provider.url, from: "+15550100100"))
        let telecom: JSON = [
            ["system": "email", "value": "ana@example.org"], ["system": "phone", "use": "home", "value": "+15550100199"],
            ["system": "phone", "use": "mobile", "value": "+1 555 010 0102"],
        ]
        // no choices recorded: email yes, text no (texts are opted into)
        let plain = PatientContact(patient: ["resourceType": "Patient", "telecom": telecom])
        #expect(plain == PatientContact(email: "ana@example.org", mobile: "+15550100102", wantsEmail: true, wantsSMS: false))
        #expect(try await notifier.tell(plain, subject: "S", lines: ["L"], text: "T") == ["email"])
        // both, then texts only
        var both = plain
        both.wantsSMS = true
        let recorded = PatientContact(patient: ["resourceType": "Patient", "telecom": telecom, "extension": [both.choices]])
        #expect(recorded == both)
        #expect(try await notifier.tell(recorded, subject: "S", lines: ["L"], text: "T") == ["email", "sms"])
        #expect(provider.messages.last == .init(to: "+15550100102", from: "+15550100100", body: "HealthHub: T"))
        var textsOnly = both
        textsOnly.wantsEmail = false
        #expect(try await notifier.tell(textsOnly, subject: "S", lines: ["L"], text: "T") == ["sms"])
        #expect(smtp.messages.count == 2 && provider.messages.count == 2)
        // the email goes out, the text fails: a retry told so sends the text only
        let refused = Notifier(
            mail: try SMTPClient(url: "smtp://127.0.0.1:\(smtp.port)"), from: "clinic@example.org",
            sms: try SMSClient(url: provider.url.replacingOccurrences(of: ":stand-in-token@", with: ":wrong-token@"), from: "+15550100100"))
        do {
            try await refused.tell(recorded, subject: "S", lines: ["L"], text: "T")
            Issue.record("a refused text must fail the attempt")
        } catch let partly as Notifier.PartlyDelivered {
            #expect(partly.done == ["email"])
        }
        #expect(smtp.messages.count == 3 && provider.messages.count == 2)
        #expect(try await notifier.tell(recorded, subject: "S", lines: ["L"], text: "T", done: ["email"]) == ["sms"])
        #expect(smtp.messages.count == 3 && provider.messages.count == 3)
        try await provider.stop()
        try await smtp.stop()
    }
}
