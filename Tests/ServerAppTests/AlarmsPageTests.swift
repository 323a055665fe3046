import Alarms
import Foundation
import HTTPTypes
import Identity
import Kernel
import Ops
import ServerApp
import TestSupport
import Testing

/// The alarms in the admin console: the 22 alarms, silences set and ended from the page (the
/// same rules as the API and the CLI), audited; nobody but admins.
@Suite struct AlarmsPageTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func anAdminSilencesAnAlarmAndEndsTheSilence(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: PortalPageTests.configuration) { s in
            let w = try await AccessWorld.make(s)
            let (b, csrf) = try await PortalPageTests.signedIn(s, w.admin)
            var admin = b
            let page = try await admin.send(.get, "/admin/alarms")
            #expect(page.code == 200)
            #expect(page.text.components(separatedBy: "<tr class=\"alarm-").count - 1 == AlarmRules.all.count)
            #expect(page.text.contains("No alarm is silenced."))
            // the rules of a silence are the API's: a reason, a known alarm, at most a week
            for fields in [
                [("alarm", "ComponentDown"), ("minutes", "60"), ("reason", "x")], [("alarm", "NoSuchAlarm"), ("minutes", "60"), ("reason", "maintenance")],
                [("alarm", "*"), ("minutes", "20000"), ("reason", "maintenance")],
            ] {
                let refused = try await admin.send(.post, "/admin/alarms/silences", form: [("csrf", csrf)] + fields)
                #expect(refused.code == 400, "\(fields)")
            }
            let set = try await admin.send(.post, "/admin/alarms/silences", form: [("csrf", csrf), ("alarm", "ComponentDown"), ("minutes", "60"), ("reason", "database upgrade")])
            #expect(set.headers[.location] == "/admin/alarms?done=alarms.added")
            let silences = try await s.operations.coordinator.store.silences(activeAfter: Now.date.timeIntervalSince1970)
            #expect(silences.count == 1 && silences.first?.matcher == "ComponentDown" && silences.first?.createdBy == "User/\(w.admin.id)")
            let shown = try await admin.send(.get, "/admin/alarms?done=alarms.added")
            #expect(shown.text.contains("database upgrade") && shown.text.contains("The silence is set."))
            let id = try #require(silences.first?.id)
            #expect(try await admin.send(.post, "/admin/alarms/silences/\(id)/expire", form: [("csrf", csrf)]).code == 303)
            #expect(try await s.operations.coordinator.store.silences(activeAfter: Now.date.timeIntervalSince1970).isEmpty)
            #expect(try await admin.send(.post, "/admin/alarms/silences/nope/expire", form: [("csrf", csrf)]).code == 404)
            // audited like the API's silences, failures too
            let trail = try await s.get("/fhir/AuditEvent?agent=User/\(w.admin.id)&_count=50")
            let subtypes = trail.entries.compactMap { $0["resource"]?["subtype"]?.arrayValue?.first?["code"]?.stringValue }
            #expect(subtypes.filter { $0 == "alarm-silence" }.count == 4 && subtypes.filter { $0 == "alarm-unsilence" }.count == 2)
            // admins only
            for user in [w.practitioner, w.auditor, w.patient] {
                let (other, otherCSRF) = try await PortalPageTests.signedIn(s, user)
                #expect(try await other.sendCopy(.get, "/admin/alarms").code == 403)
                #expect(try await other.sendCopy(.post, "/admin/alarms/silences", form: [("csrf", otherCSRF), ("alarm", "*"), ("minutes", "60"), ("reason", "quiet")]).code == 403)
            }
            #expect(try await s.operations.coordinator.store.silences(activeAfter: Now.date.timeIntervalSince1970).isEmpty)
        }
    }
}
