import Events
import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import Mail
import Scheduling
import ServerApp
import TestSupport
import Testing

/// The notices of a booking's life through the pages, by a real SMTP exchange: the clinician
/// hears of the patient's request and cancellation, the patient of the approval and the
/// decline; nobody of their own change, and no email names the patient or says why.
@Suite struct AppointmentNoticePageTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func eachSideHearsOfTheOthersChangeOnly(_ kind: TestDatabaseKind) async throws {
        let smtp = try await SMTPStandIn.start()
        var configuration = PortalPageTests.configuration
        configuration.scheduling.requireApproval = true
        configuration.mail.smtpURL = "smtp://127.0.0.1:\(smtp.port)"
        configuration.mail.from = "clinic@example.org"
        let settings = configuration
        try await Now.$clock.withValue(MovableClock(PortalPageTests.friday)) {
            try await TestServer.run(kind, configuration: settings) { s in
                let w = try await AccessWorld.make(s)
                _ = try await s.create(SchedulingOperationTests.schedule(practitioner: w.prx))
                var record = try await s.get("/fhir/Patient/\(w.pa)").body!.objectValue!
                record["telecom"] = [["system": "email", "value": "ana@example.org"]]
                #expect(try await s.put("/fhir/Patient/\(w.pa)", .object(record)).code == 200)
                let runner = jobRunner(s.services, settings)
                func mails(to address: String) async throws -> [SMTPStandIn.Message] {
                    _ = try await runner.runDue()
                    return smtp.messages.filter { $0.to == [address] }
                }
                let (p, csrf) = try await PortalPageTests.signedIn(s, w.patient)
                var patient = p
                let (c, staffCSRF) = try await PortalPageTests.signedIn(s, w.practitioner)
                var clinician = c
                // the patient asks for Monday 9:00 New York time: the clinician (no email on their
                // record: their account's) hears of it, without the patient's name
                let asked = try await patient.send(.post, "/portal/appointments/book", form: [("csrf", csrf), ("type", "ROUTINE"), ("slot", "\(w.prx)|2027-03-01T14:00:00.000Z")])
                #expect(asked.code == 303)
                var staff = try await mails(to: w.practitioner.email)
                #expect(staff.count == 1)
                #expect(staff.last?.data.contains("Subject: A booking waits for your approval") == true)
                #expect(staff.last?.data.contains("Monday 1 March 2027 at 09:00 EST") == true)
                #expect(staff.last?.data.contains("Alvarez") == false)
                #expect(try await mails(to: "ana@example.org").isEmpty)
                // the clinician accepts: the patient hears, the clinician gets nothing of their own change
                let first = try #require(try await s.get("/fhir/Appointment?actor=Patient/\(w.pa)").entries.first?["resource"]?["id"]?.stringValue)
                #expect(try await clinician.send(.post, "/console/appointments/\(first)/approve", form: [("csrf", staffCSRF)]).code == 303)
                var told = try await mails(to: "ana@example.org")
                #expect(told.count == 1 && told.last?.data.contains("Subject: Your appointment is confirmed") == true)
                #expect(try await mails(to: w.practitioner.email).count == 1)
                // the patient cancels: the clinician hears
                #expect(try await patient.send(.post, "/portal/appointments/\(first)/cancel", form: [("csrf", csrf)]).code == 303)
                staff = try await mails(to: w.practitioner.email)
                #expect(staff.count == 2 && staff.last?.data.contains("Subject: Booking cancelled") == true)
                // a second request, declined: the patient hears of the decline
                let again = try await patient.send(.post, "/portal/appointments/book", form: [("csrf", csrf), ("type", "ROUTINE"), ("slot", "\(w.prx)|2027-03-01T14:00:00.000Z")])
                #expect(again.code == 303, "\(again.text.suffix(600))")
                let second = try #require(
                    try await s.get("/fhir/Appointment?actor=Patient/\(w.pa)&status=pending").entries.first?["resource"]?["id"]?.stringValue)
                #expect(try await clinician.send(.post, "/console/appointments/\(second)/decline", form: [("csrf", staffCSRF)]).code == 303)
                told = try await mails(to: "ana@example.org")
                #expect(told.count == 2 && told.last?.data.contains("Subject: Your appointment request was declined") == true)
                #expect(told.last?.data.contains("Monday 1 March 2027 at 09:00 EST") == true)
                #expect(try await mails(to: w.practitioner.email).count == 3)
                // reading the addresses is audited, naming the patient
                let audited = try await s.get("/fhir/AuditEvent?subtype=appointment-notice&patient=Patient/\(w.pa)")
                #expect(audited.entries.count == 5)
            }
        }
        try await smtp.stop()
    }
}
