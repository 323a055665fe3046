import Auth
import Foundation
import Gateway
import Identity
import TestSupport
import Testing

/// Every sign-in, MFA and consent page, rendered in the page frame with fixed values; values
/// that carry markup must come out escaped.
@Suite struct PageSnapshotTests {
    static let hostile = #"<script>alert("x")</script> & 'quotes'"#

    func page(_ title: String, _ body: String) -> String { HTMLPage.document(title, body) }

    @Test func signIn() {
        Snapshot.expect(page("Sign in", Page.login(csrf: "csrf-1", next: "/oauth/authorize?client_id=a&scope=b", message: nil)), named: "login")
        Snapshot.expect(page("Sign in", Page.login(csrf: "csrf-1", next: "/", message: Self.hostile)), named: "login-error")
    }

    @Test func secondFactor() {
        Snapshot.expect(page("Two-factor sign-in", Page.mfa(csrf: "csrf-2", next: "/", message: "That code is not valid.")), named: "mfa")
        Snapshot.expect(page("Set up two-factor sign-in", Page.enrolmentCode(csrf: "csrf-3", next: "/", message: nil)), named: "enrolment-code")
        Snapshot.expect(
            page(
                "Set up two-factor sign-in",
                Page.enrol(
                    csrf: "csrf-4", next: "/", enrolmentCode: "EC-1",
                    uri: "otpauth://totp/HealthHub:a%40b.test?secret=ABC&issuer=HealthHub",
                    secret: "ABC", message: nil)), named: "enrol")
        Snapshot.expect(page("Recovery codes", Page.recoveryCodes(["aaaa-bbbb", "cccc-dddd"], next: "/")), named: "recovery-codes")
    }

    @Test func consentNamesTheApplicationAndEscapesWhatItRegistered() {
        let body = Page.consent(
            client: Self.hostile, email: "pat@example.test", scopes: ["launch/patient", "patient/*.rs", "openid"],
            fields: [("client_id", "app-1"), ("state", "\"><img src=x>"), ("csrf", "csrf-5")], needsPatient: true)
        Snapshot.expect(page("Allow access?", body), named: "consent")
        #expect(!body.contains("<script>") && !body.contains("<img"))
        #expect(body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;"))
    }

    @Test func accountLinks() {
        Snapshot.expect(page("Reset your password", Page.resetRequest(csrf: "csrf-6", message: nil)), named: "reset-request")
        let invitation = Page.setPassword(csrf: "csrf-7", token: "tok\"en", email: Self.hostile, purpose: .invitation, message: "The two passwords are not the same.")
        Snapshot.expect(page("Create your account", invitation), named: "set-password")
        #expect(!invitation.contains("<script>") && invitation.contains("value=\"tok&quot;en\""))
        #expect(Page.setPassword(csrf: "c", token: "t", email: "a@b.test", purpose: .reset, message: nil).contains("Every device signed in to your account is signed out."))
    }

    @Test func messages() {
        Snapshot.expect(page("Session expired", Page.message("Your sign-in form has expired.", link: ("/login", "Start again"))), named: "session-expired")
        Snapshot.expect(page("Unknown application", Page.message("The application asking for access is not registered here.", error: true)), named: "unknown-application")
    }

    @Test func theFrameEscapesTheTitle() {
        let doc = HTMLPage.document(Self.hostile, "<p>body</p>")
        #expect(doc.contains("<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39; · HealthHub</title>"))
        #expect(doc.contains("<body><main id=\"main\"><h1>&lt;script&gt;"))
        #expect(doc.hasSuffix("<p>body</p></main></body></html>"))
    }
}
