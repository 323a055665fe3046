import Foundation
import HTTPTypes
import Identity
import Kernel
import Mail
import ServerApp
import TestSupport
import Testing

/// Invitations and password resets through the pages: the link by email, its page, one use,
/// and what an account with a new password keeps (nothing of its old sessions).
@Suite struct AccountLinkTests {
    static func configuration(_ smtp: SMTPStandIn?) -> HealthHubConfiguration {
        var c = PortalPageTests.configuration
        if let smtp { c.mail.smtpURL = "smtp://127.0.0.1:\(smtp.port)" }
        c.mail.from = "accounts@clinic.example.org"
        return c
    }

    /// The link in the newest email to `address`, waiting for it a little (a reset is sent after the answer).
    static func link(to address: String, in smtp: SMTPStandIn, after count: Int = 0) async throws -> String? {
        for _ in 0..<100 {
            let mails = smtp.messages.filter { $0.to == [address] }
            if mails.count > count, let last = mails.last, let r = last.data.range(of: "/account/password?token=") {
                return "/account/password?token=" + last.data[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Opens a link's page and posts the new password twice; the reply of the post.
    static func choose(_ password: String, confirm: String? = nil, link: String, _ s: TestServer) async throws -> TestServer.Reply {
        var browser = Browser(s: s)
        let page = try await browser.send(.get, link)
        guard page.code == 200, let csrf = Browser.field("csrf", in: page.text), let token = Browser.field("token", in: page.text) else { return page }
        return try await browser.send(.post, "/account/password", form: [("csrf", csrf), ("token", token), ("password", password), ("confirm", confirm ?? password)])
    }

    static func signsIn(_ s: TestServer, _ email: String, _ password: String) async throws -> Bool {
        var browser = Browser(s: s)
        let page = try await browser.send(.get, "/login")
        let csrf = try #require(Browser.field("csrf", in: page.text))
        return try await browser.send(.post, "/login", form: [("csrf", csrf), ("email", email), ("password", password)]).code == 303
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func anInvitedPatientChoosesAPasswordOnceAndSignsIn(_ kind: TestDatabaseKind) async throws {
        let smtp = try await SMTPStandIn.start()
        try await TestServer.run(kind, configuration: Self.configuration(smtp)) { s in
            let w = try await AccessWorld.make(s)
            let (admin, csrf) = try await PortalPageTests.signedIn(s, w.admin)
            let sent = try await admin.sendCopy(.post, "/admin/users", form: [("csrf", csrf), ("email", "Bea@Example.org"), ("role", "patient"), ("link", "Patient/\(w.pb)")])
            #expect(sent.code == 200 && sent.text.contains("on its way by email"))
            // the admin never sees a password or the link when the email went out
            #expect(AdminPageTests.shown("Invitation link (7 days)", in: sent.text) == nil)
            let mail = try #require(smtp.messages.last)
            #expect(mail.to == ["bea@example.org"] && mail.from == "accounts@clinic.example.org" && mail.data.contains("Subject: Your HealthHub account"))
            let link = try #require(try await Self.link(to: "bea@example.org", in: smtp))
            #expect(try await admin.sendCopy(.get, "/admin").text.contains("invited"))
            // nobody signs in before the invitation is accepted
            #expect(try await Self.signsIn(s, "bea@example.org", "glacier-mint-4417-harbor") == false)
            // the two passwords must match, and the policy holds; the link stays good meanwhile
            #expect(try await Self.choose("glacier-mint-4417-harbor", confirm: "glacier-mint-4417-harbour", link: link, s).code == 400)
            let weak = try await Self.choose("password1234", link: link, s)
            #expect(weak.code == 400 && weak.text.contains("common password"))
            let done = try await Self.choose("glacier-mint-4417-harbor", link: link, s)
            #expect(done.code == 200 && done.text.contains("Your password is set"))
            // once only
            let again = try await Self.choose("another-good-passphrase-9", link: link, s)
            #expect(again.code == 404 && again.text.contains("not valid"))
            #expect(try await Self.signsIn(s, "bea@example.org", "glacier-mint-4417-harbor"))
            let bea = try #require(try await s.services.identity.accounts.find(email: "bea@example.org"))
            #expect(bea.patientID == w.pb && bea.role == .patient)
            #expect(try await s.services.identity.accounts.invited().contains(bea.id) == false)
            // audited: the invitation with the admin as agent, the password with the patient
            let created = try await s.get("/fhir/AuditEvent?subtype=user-create&agent=User/\(w.admin.id)")
            #expect(created.entries.count == 1)
            let set = try await s.get("/fhir/AuditEvent?subtype=password-set&agent=Patient/\(w.pb)")
            #expect(set.entries.count == 1)
            // made-up tokens get the same page; hostile ones do not get further (the WAF may stop them first)
            for token in ["", "x", String(repeating: "A", count: 43)] {
                var anyone = Browser(s: s)
                #expect(try await anyone.send(.get, "/account/password?token=\(token)").code == 404, "\(token.prefix(20))")
            }
            for token in ["../../etc/passwd", String(repeating: "z", count: 5000), "%27%20OR%201=1--"] {
                var anyone = Browser(s: s)
                let reply = try await anyone.send(.get, "/account/password?token=\(token)")
                #expect((400..<500).contains(reply.code) && !reply.text.contains("New password"), "\(token.prefix(20))")
            }
        }
        try await smtp.stop()
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aResetLinkEndsEverySessionAndTellsNobodyWhetherAnAccountExists(_ kind: TestDatabaseKind) async throws {
        let smtp = try await SMTPStandIn.start()
        try await TestServer.run(kind, configuration: Self.configuration(smtp)) { s in
            let w = try await AccessWorld.make(s)
            let (alvarez, _) = try await PortalPageTests.signedIn(s, w.patient)
            #expect(try await alvarez.sendCopy(.get, "/portal").code == 200)
            func ask(_ email: String) async throws -> TestServer.Reply {
                var browser = Browser(s: s)
                let page = try await browser.send(.get, "/account/reset")
                let csrf = try #require(Browser.field("csrf", in: page.text))
                return try await browser.send(.post, "/account/reset", form: [("csrf", csrf), ("email", email)])
            }
            let known = try await ask(w.patient.email)
            let unknown = try await ask("nobody@example.org")
            #expect(known.code == 200 && unknown.code == 200 && known.text == unknown.text)
            let link = try #require(try await Self.link(to: w.patient.email, in: smtp))
            // a second request within a minute sends nothing more
            _ = try await ask(w.patient.email)
            try await Task.sleep(for: .milliseconds(300))
            #expect(smtp.messages.filter { $0.to == [w.patient.email] }.count == 1)
            #expect(smtp.messages.allSatisfy { $0.to != ["nobody@example.org"] })
            // the form needs its session's token
            var forger = Browser(s: s)
            #expect(try await forger.send(.post, "/account/reset", form: [("csrf", "guess"), ("email", w.patient.email)]).code == 403)
            #expect(try await forger.send(.post, "/account/password", form: [("csrf", "guess"), ("token", "guess"), ("password", "x"), ("confirm", "x")]).code == 403)
            // a new password ends the sessions the account had
            #expect(try await Self.choose("lantern-quiet-8812-meadow", link: link, s).code == 200)
            #expect(try await alvarez.sendCopy(.get, "/portal").code == 303)
            #expect(try await Self.signsIn(s, w.patient.email, "lantern-quiet-8812-meadow"))
            // a disabled account's link is dead
            _ = try await s.services.identity.accounts.setDisabled(email: w.practitioner.email, true)
            let token = try await s.services.identity.accounts.issueLink(.reset, userID: w.practitioner.id)
            #expect(try await Self.choose("lantern-quiet-8812-meadow", link: "/account/password?token=\(token)", s).code == 404)
            let audited = try await s.get("/fhir/AuditEvent?subtype=password-reset-request")
            #expect(audited.entries.count == 1)
        }
        try await smtp.stop()
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func withoutEmailTheAdminHandsTheLinkOverAndResetIsNotOffered(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind, configuration: Self.configuration(nil)) { s in
            let w = try await AccessWorld.make(s)
            let (admin, csrf) = try await PortalPageTests.signedIn(s, w.admin)
            let shown = try await admin.sendCopy(
                .post, "/admin/users", form: [("csrf", csrf), ("email", "young@example.org"), ("role", "practitioner"), ("link", "Practitioner/\(w.pry)")])
            let link = try #require(AdminPageTests.shown("Invitation link (7 days)", in: shown.text))
            #expect(AdminPageTests.shown("Enrolment code (7 days)", in: shown.text) != nil)
            #expect(link.hasPrefix("http://") && link.contains("/account/password?token="))
            let path = String(link[link.range(of: "/account/")!.lowerBound...])
            // a new invitation replaces the first
            let young = try #require(try await s.services.identity.accounts.find(email: "young@example.org"))
            let second = try await admin.sendCopy(.post, "/admin/users/\(young.id)/invite", form: [("csrf", csrf)])
            let newer = try #require(AdminPageTests.shown("Invitation link (7 days)", in: second.text))
            #expect(newer != link)
            #expect(try await Self.choose("harbor-quiet-5521-lantern", link: path, s).code == 404)
            let newerPath = String(newer[newer.range(of: "/account/")!.lowerBound...])
            #expect(try await Self.choose("harbor-quiet-5521-lantern", link: newerPath, s).code == 200)
            // a staff member still needs the enrolment code after the password
            #expect(try await s.services.identity.accounts.find(email: "young@example.org")?.mfaEnrolled == false)
            var anyone = Browser(s: s)
            #expect(try await anyone.send(.get, "/account/reset").text.contains("not set up on this server"))
        }
    }
}
