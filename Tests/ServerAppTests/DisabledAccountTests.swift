import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Disabling an account stops its access tokens within a second (the revocation list is read
/// every half second; no database round trip per request).
@Suite struct DisabledAccountTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func disablingStopsTheAccountsTokensAtOnce(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let before = try w.caller(w.patient, "patient/*.rs")
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: before).code == 200)
            let colleague = try w.caller(w.practitioner, "user/*.rs")
            _ = try await s.services.identity.accounts.setDisabled(email: w.patient.email, true)
            try await Task.sleep(for: .milliseconds(600))
            let refused = try await s.get("/fhir/Patient/\(w.pa)", as: before)
            #expect(refused.code == 401)
            #expect(refused.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            // other accounts are untouched
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: colleague).code == 200)
            // enabled again: new tokens work, the old one stays revoked
            _ = try await s.services.identity.accounts.setDisabled(email: w.patient.email, false)
            try await Task.sleep(for: .milliseconds(1100))  // a new second: tokens issued from now on
            let after = try w.caller(w.patient, "patient/*.rs")
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: after).code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: before).code == 401)
        }
    }
}
