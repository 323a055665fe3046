import Events
import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import Mail
import Scheduling
import ServerApp
import Synchronization
import TestSupport
import Testing

/// `$find`, `$hold`, `$book`, `$cancel` and `$reschedule` through the API, as patients and staff.
@Suite struct SchedulingOperationTests {
    /// Dr Xu's Schedule: weekday mornings 09:00–12:00 in New York, closed on 2 March 2027.
    static func schedule(practitioner: String) -> JSON {
        j(
            #"""
            {"resourceType":"Schedule","active":true,"actor":[{"reference":"Practitioner/\#(practitioner)"}],
             "planningHorizon":{"start":"2026-01-01T00:00:00Z","end":"2027-12-31T00:00:00Z"},
             "extension":[{"url":"https://healthhub.dev/fhir/StructureDefinition/availability","extension":[
               {"url":"timeZone","valueCode":"America/New_York"},
               {"url":"availableTime","extension":[{"url":"daysOfWeek","valueCode":"mon"},{"url":"daysOfWeek","valueCode":"tue"},{"url":"daysOfWeek","valueCode":"wed"},{"url":"daysOfWeek","valueCode":"thu"},{"url":"daysOfWeek","valueCode":"fri"},
                 {"url":"availableStartTime","valueTime":"09:00:00"},{"url":"availableEndTime","valueTime":"12:00:00"}]},
               {"url":"notAvailable","extension":[{"url":"description","valueString":"Training day"},{"url":"during","valuePeriod":{"start":"2027-03-02","end":"2027-03-02"}}]}]}]}
            """#)
    }

    static func request(_ type: String = "ROUTINE", patient: String, practitioner: String, start: String) -> JSON {
        j(
            #"{"resourceType":"Appointment","status":"proposed","appointmentType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0276","code":"\#(type)"}]},"start":"\#(start)","participant":[{"actor":{"reference":"Patient/\#(patient)"},"status":"accepted"},{"actor":{"reference":"Practitioner/\#(practitioner)"},"status":"needs-action"}]}"#
        )
    }

    static func parameters(_ name: String, resource: JSON) -> JSON {
        .object(["resourceType": "Parameters", "parameter": [["name": .string(name), "resource": resource]]])
    }

    static func parameters(_ values: [(String, String)]) -> JSON {
        guard !values.isEmpty else { return .object(["resourceType": "Parameters"]) }  // (FHIR has no empty arrays)
        return .object(["resourceType": "Parameters", "parameter": .array(values.map { ["name": .string($0.0), "valueString": .string($0.1)] })])
    }

    static func starts(_ reply: TestServer.Reply) -> [String] { reply.entries.compactMap { $0["resource"]?["start"]?.stringValue } }

    static let week = "start=2027-03-01T00:00:00-05:00&end=2027-03-06T00:00:00-05:00"

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientFindsHoldsBooksMovesAndCancels(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            _ = try await s.create(Self.schedule(practitioner: w.prx))
            let alvarez = try w.caller(w.patient, "patient/*.cruds")
            let brennanUser = try await s.services.identity.accounts.create(
                email: "brennan@example.org", role: .patient, password: AccessWorld.password, patientID: w.pb, practitionerID: nil)
            let brennan = try w.caller(brennanUser, "patient/*.cruds")

            // $find: four mornings (Tuesday closed) of five 30-minute visits 35 minutes apart (a 5-minute buffer after each), in New York time
            let found = try await s.get("/fhir/Appointment/$find?\(Self.week)&practitioner=Practitioner/\(w.prx)&visit-type=ROUTINE&timezone=America/New_York", as: alvarez)
            #expect(found.code == 200)
            #expect(found["type"]?.stringValue == "searchset")
            let times = Self.starts(found)
            #expect(times.count == 20)
            #expect(
                Array(times.prefix(5)) == [
                    "2027-03-01T09:00:00-05:00", "2027-03-01T09:35:00-05:00", "2027-03-01T10:10:00-05:00", "2027-03-01T10:45:00-05:00", "2027-03-01T11:20:00-05:00",
                ])
            #expect(times.first == "2027-03-01T09:00:00-05:00")
            #expect(!times.contains { $0.hasPrefix("2027-03-02") })
            #expect(found.entries.first?["resource"]?["status"]?.stringValue == "proposed")

            // $hold as Alvarez: Brennan can no longer take that time
            let hold = try await s.post(
                "/fhir/Appointment/$hold", Self.parameters("appointment-resource", resource: Self.request(patient: w.pa, practitioner: w.prx, start: "2027-03-01T09:00:00-05:00")),
                as: alvarez)
            #expect(hold.code == 201)
            #expect(hold["status"]?.stringValue == "pending")
            #expect(hold["end"]?.stringValue == "2027-03-01T14:30:00Z")
            let holdID = try #require(hold.id)
            let taken = try await s.post(
                "/fhir/Appointment/$book", Self.parameters("appointment-resource", resource: Self.request(patient: w.pb, practitioner: w.prx, start: "2027-03-01T09:00:00-05:00")),
                as: brennan)
            #expect(taken.code == 409)
            // ... nor book Alvarez's hold, nor book for Alvarez
            #expect(try await s.post("/fhir/Appointment/$book", Self.parameters([("appointment-reference", "Appointment/\(holdID)")]), as: brennan).code == 403)
            let forOther = try await s.post(
                "/fhir/Appointment/$book", Self.parameters("appointment-resource", resource: Self.request(patient: w.pa, practitioner: w.prx, start: "2027-03-01T11:20:00-05:00")),
                as: brennan)
            #expect(forOther.code == 403)

            // Alvarez books the hold; it no longer shows in $find, and the next time still does
            let booked = try await s.post("/fhir/Appointment/$book", Self.parameters([("appointment-reference", "Appointment/\(holdID)")]), as: alvarez)
            #expect(booked.code == 200)
            #expect(booked["status"]?.stringValue == "booked")
            #expect(booked["extension"] == nil)
            let after = Self.starts(try await s.get("/fhir/Appointment/$find?\(Self.week)&practitioner=\(w.prx)&timezone=America/New_York", as: brennan))
            #expect(!after.contains("2027-03-01T09:00:00-05:00"))
            #expect(after.count == 19)
            #expect(after.contains("2027-03-01T09:35:00-05:00"))

            // a time that is not offered (Tuesday, or off the grid) is refused
            for start in ["2027-03-02T09:00:00-05:00", "2027-03-01T09:10:00-05:00", "2027-03-06T09:00:00-05:00"] {
                let r = try await s.post(
                    "/fhir/Appointment/$book", Self.parameters("appointment-resource", resource: Self.request(patient: w.pb, practitioner: w.prx, start: start)), as: brennan)
                #expect(r.code == 409, "\(start)")
                #expect(r.issueExpressions == ["appointment-resource.start"])
            }

            // $reschedule to Wednesday 10:10, then $cancel: the time is offered again
            let moved = try await s.post("/fhir/Appointment/\(holdID)/$reschedule", Self.parameters([("start", "2027-03-03T10:10:00-05:00")]), as: alvarez)
            #expect(moved.code == 200)
            #expect(moved["start"]?.stringValue == "2027-03-03T15:10:00Z")
            let moving = Self.starts(try await s.get("/fhir/Appointment/$find?\(Self.week)&practitioner=\(w.prx)&timezone=America/New_York", as: brennan))
            #expect(moving.contains("2027-03-01T09:00:00-05:00"))
            #expect(!moving.contains("2027-03-03T10:10:00-05:00"))
            #expect(try await s.post("/fhir/Appointment/\(holdID)/$cancel", Self.parameters([("reason", "feeling better")]), as: brennan).code == 403)
            let cancelled = try await s.post("/fhir/Appointment/\(holdID)/$cancel", Self.parameters([("reason", "feeling better")]), as: alvarez)
            #expect(cancelled.code == 200)
            #expect(cancelled["status"]?.stringValue == "cancelled")
            #expect(cancelled["cancelationReason"]?["text"]?.stringValue == "feeling better")
            #expect(Self.starts(try await s.get("/fhir/Appointment/$find?\(Self.week)&practitioner=\(w.prx)", as: brennan)).count == 20)
            #expect(try await s.post("/fhir/Appointment/\(holdID)/$cancel", Self.parameters([]), as: alvarez).code == 409)

            // the event log tells the story of Alvarez's appointment, and nothing of the refusals
            let story = try await s.services.events.events(after: 0, patients: ["Patient/\(w.pa)"])
            #expect(story.map(\.topic) == ["appointment.pending", "appointment.booked", "appointment.moved", "appointment.cancelled"])
            #expect(try await s.services.events.events(after: 0, patients: ["Patient/\(w.pb)"]).isEmpty)

            // every call was audited as an operation
            let audited = try await s.get("/fhir/AuditEvent?_count=200")
            let operations = audited.entries.filter { $0["resource"]?["subtype"]?.arrayValue?.contains { $0["code"]?.stringValue == "operation" } == true }
            #expect(operations.count >= 4)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aHoldRunsOutByItself(_ kind: TestDatabaseKind) async throws {
        var configuration = HealthHubConfiguration()
        configuration.scheduling.holdMinutes = 1
        try await TestServer.run(kind, configuration: configuration) { s in
            let w = try await AccessWorld.make(s)
            _ = try await s.create(Self.schedule(practitioner: w.prx))
            let alvarez = try w.caller(w.patient, "patient/*.cruds")
            let clock = MovableClock(Instant.millis(Now.date))
            try await Now.$clock.withValue(clock) {
                let hold = try await s.post(
                    "/fhir/Appointment/$hold",
                    Self.parameters("appointment-resource", resource: Self.request(patient: w.pa, practitioner: w.prx, start: "2027-03-04T11:20:00-05:00")),
                    as: alvarez)
                #expect(hold.code == 201)
                let holdID = try #require(hold.id)
                // a minute later it holds nothing: another booking of that time succeeds
                clock.advance(60_000 + 1)
                #expect(try await s.post("/fhir/Appointment/$book", Self.parameters([("appointment-reference", "Appointment/\(holdID)")]), as: alvarez).code == 409)
                let other = try await s.post("/fhir/Appointment", Self.booking(patient: w.pb, practitioner: w.prx, start: "2027-03-04T16:20:00Z", end: "2027-03-04T16:50:00Z"))
                #expect(other.code == 201)
                // and its expiry job cancels it, once
                let runner = jobRunner(s.services, HealthHubConfiguration())
                #expect(try await runner.runDue() == 1)
                #expect(try await s.get("/fhir/Appointment/\(holdID)")["status"]?.stringValue == "cancelled")
                #expect(try await runner.runDue() == 0)
            }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func remindersComeBeforeABookingAndGoWithIt(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            _ = try await s.create(Self.schedule(practitioner: w.prx))
            let alvarez = try w.caller(w.patient, "patient/*.cruds")
            let booked = try await s.post(
                "/fhir/Appointment/$book", Self.parameters("appointment-resource", resource: Self.request(patient: w.pa, practitioner: w.prx, start: "2027-03-01T10:10:00-05:00")),
                as: alvarez)
            #expect(booked.code == 201)
            let id = try #require(booked.id)
            let start = Self.ms("2027-03-01T15:10:00Z")
            let runner = jobRunner(s.services, HealthHubConfiguration())
            func due(at millis: Int64) async throws -> Int { try await Now.$clock.withValue(MovableClock(millis)) { try await runner.runDue() } }
            let reminders = { try await s.services.events.events(after: 0, patients: ["Patient/\(w.pa)"]).filter { $0.topic == "appointment.reminder" } }
            #expect(try await due(at: start - 48 * 3_600_000 - 1_000) == 1)  // not yet (only the clinician's notice of the booking)
            #expect(try await due(at: start - 48 * 3_600_000 + 1_000) == 1)  // the 48-hour reminder
            #expect(try await reminders().map(\.subject) == ["Appointment/\(id)"])
            // moved: the 2-hour reminder follows the new time; cancelled: it goes
            #expect(try await s.post("/fhir/Appointment/\(id)/$reschedule", Self.parameters([("start", "2027-03-01T11:20:00-05:00")]), as: alvarez).code == 200)
            // (the new time's 48-hour reminder is due at once; the old time's 2-hour one is gone)
            #expect(try await due(at: start - 2 * 3_600_000 + 1_000) == 2)  // (and the clinician's notice of the move)
            #expect(try await due(at: start + 70 * 60_000 - 2 * 3_600_000 + 1_000) == 1)
            #expect(try await reminders().count == 3)
            #expect(try await s.post("/fhir/Appointment/\(id)/$cancel", Self.parameters([]), as: alvarez).code == 200)
            #expect(try await due(at: start + 10 * 3_600_000) == 1)  // the notice of the cancellation, no reminder
            #expect(try await reminders().count == 3)
            // each reminder read the appointment and the patient: audited, naming the patient
            let audited = try await s.get("/fhir/AuditEvent?subtype=reminder&patient=Patient/\(w.pa)")
            #expect(audited.entries.count == 3)
            #expect(audited.entries.allSatisfy { $0["resource"]?["agent"]?.arrayValue?.first?["who"]?["display"]?.stringValue == "healthhub scheduling" })
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aReminderEmailSaysWhenAndWithWhomAndNothingElse(_ kind: TestDatabaseKind) async throws {
        let smtp = try await SMTPStandIn.start()
        var configuration = HealthHubConfiguration()
        configuration.mail.smtpURL = "smtp://127.0.0.1:\(smtp.port)"
        configuration.mail.from = "reminders@clinic.example.org"
        configuration.scheduling.timeZone = TimeZone(identifier: "America/New_York")!  // the practice's time, in the email
        let settings = configuration
        try await TestServer.run(kind, configuration: settings) { s in
            let w = try await AccessWorld.make(s)
            _ = try await s.create(Self.schedule(practitioner: w.prx))
            // the patient has an email address, a name and a condition the email must not mention
            var patient = try await s.get("/fhir/Patient/\(w.pa)").body!.objectValue!
            patient["telecom"] = [["system": "email", "value": "alvarez@example.org"]]
            #expect(try await s.put("/fhir/Patient/\(w.pa)", .object(patient)).code == 200)
            var request = Self.request(patient: w.pa, practitioner: w.prx, start: "2027-03-01T10:10:00-05:00").objectValue!
            request["participant"] = [
                ["actor": ["reference": .string("Patient/\(w.pa)"), "display": "Ana Alvarez"], "status": "accepted"],
                ["actor": ["reference": .string("Practitioner/\(w.prx)"), "display": "Dr Xu"], "status": "accepted"],
            ]
            request["reasonCode"] = [["text": "follow-up of depression"]]
            let alvarez = try w.caller(w.patient, "patient/*.cruds")
            #expect(try await s.post("/fhir/Appointment/$book", Self.parameters("appointment-resource", resource: .object(request)), as: alvarez).code == 201)
            let runner = jobRunner(s.services, settings)
            let due = Self.ms("2027-03-01T15:10:00Z") - 48 * 3_600_000 + 1_000
            #expect(try await Now.$clock.withValue(MovableClock(due)) { try await runner.runDue() } == 2)  // (and the clinician's notice of the booking)
        }
        let mail = try #require(smtp.messages.first { $0.to == ["alvarez@example.org"] })
        #expect(mail.from == "reminders@clinic.example.org")
        #expect(mail.data.contains("Subject: Reminder: your appointment"))
        #expect(mail.data.contains("Monday 1 March 2027 at 10:10 EST") && mail.data.contains("with Dr Xu"))
        #expect(!mail.data.contains("Alvarez") && !mail.data.contains("depression"))
        try await smtp.stop()
    }

    /// What the outside attack pass of this feature found, each closed.
    @Test(arguments: TestDatabaseKind.allCases)
    func whatTheAttackPassFoundStaysClosed(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            _ = try await s.create(Self.schedule(practitioner: w.prx))
            let alvarez = try w.caller(w.patient, "patient/*.cruds")
            func booking(_ practitioner: String, start: String = "2027-03-01T14:00:00Z", end: String? = "2027-03-01T14:30:00Z", status: String = "booked") -> JSON {
                var o = Self.booking(patient: w.pb, practitioner: w.prx, start: start, end: end ?? start).objectValue!
                o["status"] = .string(status)
                o["participant"] = [
                    ["actor": ["reference": .string("Patient/\(w.pb)")], "status": "accepted"], ["actor": ["reference": .string(practitioner)], "status": "accepted"],
                ]
                if end == nil { o["end"] = nil }
                return .object(o)
            }
            #expect(try await s.post("/fhir/Appointment", booking("Practitioner/\(w.prx)")).code == 201)
            // 1. the same practitioner spelled another way is the same practitioner
            for spelling in ["http://localhost/fhir/Practitioner/\(w.prx)", "https://elsewhere.example/fhir/Practitioner/\(w.prx)", "Practitioner/\(w.prx)/_history/1"] {
                let r = try await s.post("/fhir/Appointment", booking(spelling, start: "2027-03-01T14:10:00Z", end: "2027-03-01T14:20:00Z"))
                #expect(r.code == 409, "\(spelling)")
            }
            // 2. an active appointment needs a real period (app-2, app-3); a proposal does not
            for (start, end) in [("2027-03-02T14:00:00Z", nil), ("2027-03-02T15:00:00Z", "2027-03-02T14:30:00Z"), ("2027-03-02T15:10:00Z", "2027-03-02T15:10:00Z")]
                as [(String, String?)]
            {
                let r = try await s.post("/fhir/Appointment", booking("Practitioner/\(w.prx)", start: start, end: end))
                #expect(r.code == 422, "\(start)–\(end ?? "none")")
                #expect(r.issueCodes == ["invariant"])
            }
            #expect(try await s.post("/fhir/Appointment", booking("Practitioner/\(w.prx)", start: "2027-03-02T14:00:00Z", end: nil, status: "proposed")).code == 201)
            // 3. a patient writes appointments only through the operations (office hours, the grid,
            //    holds, limits and approval live there): no plain POST, PUT, PATCH or Bundle
            let mine = Self.booking(patient: w.pa, practitioner: w.prx, start: "2027-03-07T08:00:00Z", end: "2027-03-07T09:00:00Z")
            #expect(try await s.post("/fhir/Appointment", mine, as: alvarez).code == 403)
            var withID = mine.objectValue!
            withID["id"] = "chosen-id"
            #expect(try await s.put("/fhir/Appointment/chosen-id", .object(withID), as: alvarez).code == 403)
            let bundle = j(#"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Appointment"},"resource":\#(mine.serializedString())}]}"#)
            #expect(try await s.post("/fhir", bundle, as: alvarez).code == 403)
            let hold = try await s.post(
                "/fhir/Appointment/$hold", Self.parameters("appointment-resource", resource: Self.request(patient: w.pa, practitioner: w.prx, start: "2027-03-04T09:00:00-05:00")),
                as: alvarez)
            let holdID = try #require(hold.id)
            let extend = try await s.request(
                .patch, "/fhir/Appointment/\(holdID)", body: #"[{"op":"replace","path":"/extension/0/valueInstant","value":"2030-01-01T00:00:00Z"}]"#,
                headers: [.contentType: "application/json-patch+json"], as: alvarez)
            #expect(extend.code == 403)
            #expect(try await s.request(.delete, "/fhir/Appointment/\(holdID)", as: alvarez).code == 403)
            // 4. a hold is not moved (it would never run out)
            #expect(try await s.post("/fhir/Appointment/\(holdID)/$reschedule", Self.parameters([("start", "2027-03-04T09:35:00-05:00")]), as: alvarez).code == 409)
            // 5. $find: times need a zone, unknown parameters are refused, service-type filters
            #expect(try await s.get("/fhir/Appointment/$find?start=2027-03-01T00:00:00&end=2027-03-02T00:00:00Z", as: alvarez).issueExpressions == ["start"])
            #expect(try await s.get("/fhir/Appointment/$find?\(Self.week)&patient=Patient/\(w.pb)", as: alvarez).code == 400)
            #expect(try await s.get("/fhir/Appointment/$find?\(Self.week)&service-type=dentistry", as: alvarez).total == 0)
        }
    }

    static func ms(_ iso: String) -> Int64 { Int64(ISO8601DateFormatter().date(from: iso)!.timeIntervalSince1970 * 1000) }

    static func booking(patient: String, practitioner: String, start: String, end: String) -> JSON {
        j(
            #"{"resourceType":"Appointment","status":"booked","start":"\#(start)","end":"\#(end)","participant":[{"actor":{"reference":"Patient/\#(patient)"},"status":"accepted"},{"actor":{"reference":"Practitioner/\#(practitioner)"},"status":"accepted"}]}"#
        )
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func limitsApprovalAndTheRulesOfTheInput(_ kind: TestDatabaseKind) async throws {
        var configuration = HealthHubConfiguration()
        configuration.scheduling.requireApproval = true
        try await TestServer.run(kind, configuration: configuration) { s in
            let w = try await AccessWorld.make(s)
            _ = try await s.create(Self.schedule(practitioner: w.prx))
            let xu = try w.caller(w.practitioner, "user/*.cruds")
            // staff book for a patient in their care; with approval on, it waits
            let first = try await s.post(
                "/fhir/Appointment/$book",
                Self.parameters("appointment-resource", resource: Self.request("CHECKUP", patient: w.pa, practitioner: w.prx, start: "2027-03-01T09:00:00-05:00")), as: xu)
            #expect(first.code == 201)
            #expect(first["status"]?.stringValue == "pending")
            #expect(first["minutesDuration"]?.numberText == "45")
            // one check-up a year
            let second = try await s.post(
                "/fhir/Appointment/$book",
                Self.parameters("appointment-resource", resource: Self.request("CHECKUP", patient: w.pa, practitioner: w.prx, start: "2027-03-04T09:00:00-05:00")), as: xu)
            #expect(second.code == 422)
            #expect(second.issueCodes == ["business-rule"])
            // not for a patient outside their care
            let outside = try await s.post(
                "/fhir/Appointment/$book", Self.parameters("appointment-resource", resource: Self.request(patient: w.pb, practitioner: w.prx, start: "2027-03-04T10:10:00-05:00")),
                as: xu)
            #expect(outside.code == 403)
            // bad input gets a clear error, naming the parameter
            let cases: [(String, Int, String)] = [
                ("/fhir/Appointment/$find?end=2027-03-06T00:00:00Z", 400, "start"),
                ("/fhir/Appointment/$find?start=2027-03-01&end=2027-03-06T00:00:00Z", 400, "start"),
                ("/fhir/Appointment/$find?start=2027-03-01T00:00:00Z&end=2027-05-06T00:00:00Z", 400, "end"),
                ("/fhir/Appointment/$find?\(Self.week)&visit-type=SURGERY", 400, "visit-type"),
                ("/fhir/Appointment/$find?\(Self.week)&timezone=Mars/Olympus", 400, "timezone"),
                ("/fhir/Appointment/$find?\(Self.week)&practitioner=Practitioner/a/b", 400, "practitioner"),
            ]
            for (path, code, expression) in cases {
                let r = try await s.get(path, as: xu)
                #expect(r.code == code, "\(path)")
                #expect(r.issueExpressions == [expression], "\(path)")
            }
            #expect(try await s.post("/fhir/Appointment/$book", j(#"{"resourceType":"Patient"}"#), as: xu).code == 400)
            #expect(try await s.post("/fhir/Appointment/$book", Self.parameters([]), as: xu).code == 400)
            // a Schedule with malformed availability is refused where it is wrong
            var bad = Self.schedule(practitioner: w.prx).serializedString().replacingOccurrences(of: "America/New_York", with: "Nowhere/Land")
            #expect(try await s.post("/fhir/Schedule", j(bad)).issueExpressions == ["Schedule.extension[0].extension[0].valueCode"])
            bad = Self.schedule(practitioner: w.prx).serializedString().replacingOccurrences(of: #""valueCode":"mon""#, with: #""valueCode":"monday""#)
            #expect(try await s.post("/fhir/Schedule", j(bad)).code == 422)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func theOperationsArePublishedAndNeedAnIdentity(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let metadata = try await s.get("/fhir/metadata", as: .anonymous)
            let appointment = metadata["rest"]?.arrayValue?.first?["resource"]?.arrayValue?.first { $0["type"]?.stringValue == "Appointment" }
            let names = appointment?["operation"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(Set(names) == ["find", "hold", "book", "cancel", "reschedule"])
            for id in ["Appointment-find", "Appointment-hold", "Appointment-book", "Appointment-cancel", "Appointment-reschedule"] {
                let definition = try await s.get("/fhir/OperationDefinition/\(id)", as: .anonymous)
                #expect(definition.code == 200)
                #expect(definition["url"]?.stringValue == "https://healthhub.dev/fhir/OperationDefinition/\(id)")
                #expect(appointment?["operation"]?.arrayValue?.contains { $0["definition"] == definition["url"] } == true)
            }
            #expect(try await s.get("/fhir/Appointment/$find?\(Self.week)", as: .anonymous).code == 401)
            #expect(try await s.post("/fhir/Appointment/$book", Self.parameters([]), as: .anonymous).code == 401)
            #expect(try await s.post("/fhir/Appointment/x/$cancel", Self.parameters([]), as: .anonymous).code == 401)
            // $find changes nothing, so GET works; the others need POST
            #expect(try await s.get("/fhir/Appointment/$book", as: .system).code == 405)
        }
    }
}

/// A clock the test moves by hand.
final class MovableClock: WallClock, Sendable {
    private let millis: Mutex<Int64>
    init(_ millis: Int64) { self.millis = Mutex(millis) }
    func now() -> Date { Date(timeIntervalSince1970: Double(millis.withLock { $0 }) / 1000) }
    func advance(_ ms: Int64) { millis.withLock { $0 += ms } }
}
