import FHIR
import Foundation
import Gateway
import HTTPTypes
import Identity
import Kernel
import Scheduling
import ServerApp
import TestSupport
import Testing

/// The patient portal and the clinician console through the router: a signed-in web session
/// (as the sign-in pages leave it), the same access rules as the API, CSRF on every form, and a
/// page-view audit of every page that shows patient data.
@Suite struct PortalPageTests {
    /// Friday 26 February 2027, 10:00 in New York: the week before the test Schedule's first free mornings.
    static let friday: Int64 = 1_803_654_000_000

    static var configuration: HealthHubConfiguration {
        var c = HealthHubConfiguration()
        c.gateway.rateLimits.enabled = false
        c.scheduling.timeZone = TimeZone(identifier: "America/New_York")!
        return c
    }

    /// A signed-in browser of `user`, and its CSRF token.
    static func signedIn(_ s: TestServer, _ user: User) async throws -> (Browser, String) {
        let (cookie, session) = try await s.services.identity.sessions.create(userID: user.id)
        return (Browser(s: s, cookie: "hh_session=\(cookie)"), session.csrf)
    }

    static func vital(_ patient: String, kg: Double, at: String) -> JSON {
        j(
            #"{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},"subject":{"reference":"Patient/\#(patient)"},"effectiveDateTime":"\#(at)","valueQuantity":{"value":\#(kg),"unit":"kg"}}"#
        )
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func everyPageNeedsASignedInSessionAndEveryFormItsToken(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration) { s in
            let w = try await AccessWorld.make(s)
            let pages = s.routes.filter { $0.access == .signedIn }
            #expect(pages.count >= 10)
            var anonymous = Browser(s: s)
            for route in pages {
                let path = route.path.replacingOccurrences(of: "{id}", with: w.pa)
                let reply = try await anonymous.send(route.method, path, form: route.method == .post ? [("csrf", "guess")] : nil)
                if route.method == .get {
                    #expect(reply.code == 303, "\(route)")
                    #expect(reply.headers[.location] == "/login?" + QueryString.encode([("next", path)]), "\(route)")
                } else {
                    #expect(reply.code == 403, "\(route)")
                }
                #expect(!reply.text.contains("Alvarez"))
            }
            // signed in, a form without the session's token, or from another site, changes nothing
            let (b, csrf) = try await Self.signedIn(s, w.patient)
            var browser = b
            let appointment = try await s.create(
                SchedulingOperationTests.booking(patient: w.pa, practitioner: w.prx, start: "2027-03-01T14:00:00Z", end: "2027-03-01T14:30:00Z"))
            for token in ["", "x" + csrf] {
                let reply = try await browser.send(.post, "/portal/appointments/\(appointment)/cancel", form: [("csrf", token)])
                #expect(reply.code == 403)
            }
            let crossSite = try await s.request(
                .post, "/portal/appointments/\(appointment)/cancel", body: QueryString.encode([("csrf", csrf)]),
                headers: [.cookie: browser.cookie!, .contentType: "application/x-www-form-urlencoded", .origin: "https://evil.example"], as: .anonymous)
            #expect(crossSite.code == 403)
            // an Origin is scheme://host[:port]: with a path or another scheme it is not this server
            for origin in ["http://localhost/x", "ftp://localhost"] {
                let odd = try await s.request(
                    .post, "/portal/appointments/\(appointment)/cancel", body: QueryString.encode([("csrf", csrf)]),
                    headers: [.cookie: browser.cookie!, .contentType: "application/x-www-form-urlencoded", .origin: origin], as: .anonymous)
                #expect(odd.code == 403, "\(origin)")
            }
            // the sign-in forms check Origin too
            var stranger = Browser(s: s)
            let loginPage = try await stranger.send(.get, "/login")
            let loginCSRF = try #require(Browser.field("csrf", in: loginPage.text))
            let foreignLogin = try await s.request(
                .post, "/login", body: QueryString.encode([("csrf", loginCSRF), ("email", "alvarez@example.org"), ("password", AccessWorld.password)]),
                headers: [.cookie: stranger.cookie!, .contentType: "application/x-www-form-urlencoded", .origin: "https://evil.example"], as: .anonymous)
            #expect(foreignLogin.code == 403 && foreignLogin.headers[.location] == nil)
            #expect(try await s.get("/fhir/Appointment/\(appointment)")["status"]?.stringValue == "booked")
            // a disabled account's session is over
            _ = try await s.services.identity.accounts.setDisabled(email: "alvarez@example.org", true)
            #expect(try await browser.send(.get, "/portal").code == 303)
        }
    }

    /// The dashboard and the charts read the newest results only, and show the newest.
    @Test(arguments: TestDatabaseKind.allCases)
    func theNewestResultsAreTheOnesShown(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration) { s in
            let w = try await AccessWorld.make(s)
            // 15 lab results (hemoglobin, 11.1 g/dL in January 2025 up to 12.5 in March 2026) and 15 weights, posted out of order
            for month in [7, 1, 14, 3, 9, 0, 12, 5, 11, 2, 13, 4, 10, 6, 8] {
                let day = "20\(25 + month / 12)-\(String(format: "%02d", month % 12 + 1))-15T09:00:00Z"
                try await s.post(
                    "/fhir/Observation",
                    j(
                        #"{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"718-7","display":"Hemoglobin"}]},"subject":{"reference":"Patient/\#(w.pa)"},"effectiveDateTime":"\#(day)","valueQuantity":{"value":\#(11.1 + Double(month) / 10),"unit":"g/dL"}}"#
                    ))
                try await s.post("/fhir/Observation", Self.vital(w.pa, kg: 60 + Double(month), at: day))
            }
            let (b, _) = try await Self.signedIn(s, w.patient)
            var browser = b
            let home = try await browser.send(.get, "/portal")
            // the five newest: 12.5 down to 12.1 g/dL; nothing older
            for value in ["12.5 g/dL", "12.4 g/dL", "12.3 g/dL", "12.2 g/dL", "12.1 g/dL"] { #expect(home.text.contains(value), "\(value)") }
            #expect(!home.text.contains("12 g/dL") && !home.text.contains("11.1 g/dL"))
            // a chart draws the newest 12 of a series: 63 kg to 74 kg, not 60-62
            let records = try await browser.send(.get, "/portal/records")
            #expect(records.text.contains("<td>74 kg</td>") && records.text.contains("<td>63 kg</td>") && !records.text.contains("<td>62 kg</td>"))
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientSeesTheirOwnRecordAndNobodyElses(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration) { s in
            let w = try await AccessWorld.make(s)
            for (n, kg) in [71.5, 72.0, 70.25].enumerated() { try await s.post("/fhir/Observation", Self.vital(w.pa, kg: kg, at: "2026-0\(n + 1)-10T09:00:00Z")) }
            try await s.post("/fhir/Observation", Self.vital(w.pb, kg: 93.75, at: "2026-02-10T09:00:00Z"))
            let (b, _) = try await Self.signedIn(s, w.patient)
            var browser = b
            let records = try await browser.send(.get, "/portal/records")
            #expect(records.code == 200)
            #expect(records.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
            // the weight chart: an SVG with three points, and the same values in a table
            #expect(records.text.contains("<svg viewBox=\"0 0 320.0 150.0\""))
            #expect(records.text.components(separatedBy: "<circle class=\"dot\"").count - 1 == 3)
            for value in ["71.5 kg", "72 kg", "70.2 kg"] { #expect(records.text.contains("<td>\(value)</td>"), "\(value)") }
            #expect(!records.text.contains("93.8") && !records.text.contains("Brennan"))
            // the download is the whole compartment, through Patient/$everything
            let download = try await browser.send(.get, "/portal/download/record.json")
            #expect(download.code == 200)
            #expect(download.headers[.contentDisposition]?.hasPrefix("attachment") == true)
            let types = (download.body?["entry"]?.arrayValue ?? []).compactMap { $0["resource"]?["resourceType"]?.stringValue }
            #expect(types.filter { $0 == "Observation" }.count == 4)  // three weights and the pulse
            #expect(types.filter { $0 == "Patient" }.count == 1)
            #expect(!download.text.contains(w.pb) && !download.text.contains("Brennan"))
            // the console is not for patients; another patient's chart is not either
            #expect(try await browser.send(.get, "/console").code == 403)
            let other = try await browser.send(.get, "/console/patients/\(w.pb)")
            #expect(other.code == 403 && !other.text.contains("Brennan"))
            // each page that showed the record is in the audit trail, naming the patient
            let audit = try await s.get("/fhir/AuditEvent?subtype=page-view&patient=Patient/\(w.pa)&_count=50")
            let queries = audit.entries.compactMap { $0["resource"]?["entity"]?.arrayValue?.compactMap { $0["query"]?.stringValue }.first }
            #expect(audit.entries.count >= 1)
            #expect(queries.contains { Data(base64Encoded: $0).map { String(decoding: $0, as: UTF8.self) } == "/portal/records" })
            let everything = try await s.get("/fhir/AuditEvent?subtype=operation&patient=Patient/\(w.pa)&_count=50")
            #expect(everything.entries.count == 1)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientBooksTheClinicianAcceptsAndTheChartOpens(_ kind: TestDatabaseKind) async throws {
        var configuration = Self.configuration
        configuration.scheduling.requireApproval = true
        try await Now.$clock.withValue(MovableClock(Self.friday)) {
            try await TestServer.run(kind, configuration: configuration) { s in
                let w = try await AccessWorld.make(s)
                _ = try await s.create(SchedulingOperationTests.schedule(practitioner: w.prx))
                let (b, csrf) = try await Self.signedIn(s, w.patient)
                var patient = b
                // find: the free mornings from Monday, by day, in New York time
                let find = try await patient.send(.get, "/portal/appointments?type=ROUTINE&practitioner=\(w.prx)&from=2027-02-26")
                #expect(find.code == 200)
                #expect(find.text.contains("<legend>Monday, March 1, 2027</legend>"))
                #expect(find.text.contains("value=\"\(w.prx)|2027-03-01T14:00:00.000Z\""))
                #expect(!find.text.contains("Tuesday, March 2, 2027"))  // the Schedule's training day
                let booked = try await patient.send(.post, "/portal/appointments/book", form: [("csrf", csrf), ("type", "ROUTINE"), ("slot", "\(w.prx)|2027-03-01T14:00:00.000Z")])
                #expect(booked.code == 303)
                #expect(booked.headers[.location] == "/portal/appointments?done=appointments.pending")
                let list = try await patient.send(.get, "/portal/appointments?done=appointments.pending")
                #expect(list.text.contains("Your request was sent"))
                #expect(list.text.contains("Waiting for confirmation"))
                // the same time again is taken (no double booking through the pages either)
                let again = try await patient.send(.post, "/portal/appointments/book", form: [("csrf", csrf), ("type", "ROUTINE"), ("slot", "\(w.prx)|2027-03-01T14:00:00.000Z")])
                #expect(again.code == 409)
                // the clinician sees it pending on Monday's schedule and accepts it
                let (c, staffCSRF) = try await Self.signedIn(s, w.practitioner)
                var clinician = c
                let monday = try await clinician.send(.get, "/console?view=day&date=2027-03-01")
                #expect(monday.code == 200)
                #expect(monday.text.contains("<td>9:00\u{202F}AM</td>"))  // (ICU puts a narrow no-break space before AM)
                #expect(monday.text.contains(">Alvarez</a>"))
                let appointment = try #require(try await s.get("/fhir/Appointment?actor=Patient/\(w.pa)").entries.first?["resource"]?["id"]?.stringValue)
                #expect(monday.text.contains("/console/appointments/\(appointment)/approve"))
                let accepted = try await clinician.send(.post, "/console/appointments/\(appointment)/approve", form: [("csrf", staffCSRF)])
                #expect(accepted.code == 303)
                #expect(try await s.get("/fhir/Appointment/\(appointment)")["status"]?.stringValue == "booked")
                #expect(try await patient.send(.get, "/portal").text.contains("Booked"))
                // the chart of a patient in care opens; of another, it does not
                let chart = try await clinician.send(.get, "/console/patients/\(w.pa)")
                #expect(chart.code == 200 && chart.text.contains("Alvarez"))
                let outside = try await clinician.send(.get, "/console/patients/\(w.pb)")
                #expect(outside.code == 403 && !outside.text.contains("Brennan"))
                // the patient list holds only patients in care, and a name search is posted, not put in a URL
                let mine = try await clinician.send(.get, "/console/patients")
                #expect(mine.text.contains("Alvarez") && !mine.text.contains("Brennan"))
                let searched = try await clinician.send(.post, "/console/patients", form: [("csrf", staffCSRF), ("name", "Brennan")])
                #expect(searched.code == 200 && !searched.text.contains("/console/patients/\(w.pb)"))
                // the patient cancels in the portal; the time is free again
                let cancelled = try await patient.send(.post, "/portal/appointments/\(appointment)/cancel", form: [("csrf", csrf)])
                #expect(cancelled.headers[.location] == "/portal/appointments?done=appointments.cancelled")
                #expect(try await s.get("/fhir/Appointment/\(appointment)")["status"]?.stringValue == "cancelled")
            }
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func pagesSpeakTheReadersLanguage(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration) { s in
            let w = try await AccessWorld.make(s)
            let (b, _) = try await Self.signedIn(s, w.patient)
            let session = b.cookie!
            let spanish = try await s.request(.get, "/portal?lang=es", headers: [.cookie: session], as: .anonymous)
            #expect(spanish.text.contains("<html lang=\"es\">"))
            #expect(spanish.text.contains("Próximas citas"))
            #expect(spanish.headers[values: .setCookie].contains { $0.hasPrefix("hh_lang=es;") })
            let byCookie = try await s.request(.get, "/portal/records", headers: [.cookie: session + "; hh_lang=es"], as: .anonymous)
            #expect(byCookie.text.contains("Constantes vitales"))
            let byBrowser = try await s.request(.get, "/portal/records", headers: [.cookie: session, .acceptLanguage: "es-MX,es;q=0.9"], as: .anonymous)
            #expect(byBrowser.text.contains("Constantes vitales"))
        }
    }
}

@Suite struct StaticAssetTests {
    @Test func theStylesheetIsServedWithAValidatorAndNothingElseIs() async throws {
        try await TestServer.run(.sqlite) { s in
            let css = try await s.get("/static/healthhub.css", as: .anonymous)
            #expect(css.code == 200)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(css.text.contains("header.top"))
            let etag = try #require(css.headers[.eTag])
            #expect(try await s.get("/static/healthhub.css", headers: [.ifNoneMatch: etag], as: .anonymous).code == 304)
            for path in ["/static/nothing.css", "/static/Package.swift", "/static/..%2FPackage.swift", "/static/"] {
                #expect([400, 404].contains(try await s.get(path, as: .anonymous).code), "\(path)")
            }
        }
    }
}
