import Crypto
import FHIR
import Foundation
import HTTPTypes
import Identity
import Kernel
import ServerApp
import TestSupport
import Testing

/// Two patients, two practitioners, one of whom treats patient A, and an account of each role.
struct AccessWorld {
    let s: TestServer
    let pa: String, pb: String, prx: String, pry: String
    let obsA: String, obsB: String, encA: String
    let patient: User, practitioner: User, admin: User, auditor: User

    static let password = "glacier-mint-4417-harbor"

    static func make(_ s: TestServer) async throws -> AccessWorld {
        let pa = try await s.create(j(#"{"resourceType":"Patient","name":[{"family":"Alvarez"}]}"#))
        let pb = try await s.create(j(#"{"resourceType":"Patient","name":[{"family":"Brennan"}]}"#))
        let prx = try await s.create(j(#"{"resourceType":"Practitioner","name":[{"family":"Xu"}]}"#))
        let pry = try await s.create(j(#"{"resourceType":"Practitioner","name":[{"family":"Young"}]}"#))
        let encA = try await s.create(
            j(
                #"{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/\#(pa)"},"participant":[{"individual":{"reference":"Practitioner/\#(prx)"}}]}"#
            ))
        let obsA = try await s.create(
            j(
                #"{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/\#(pa)"},"performer":[{"reference":"Practitioner/\#(prx)"}]}"#
            ))
        let obsB = try await s.create(j(#"{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/\#(pb)"}}"#))
        let accounts = s.services.identity.accounts
        return AccessWorld(
            s: s, pa: pa, pb: pb, prx: prx, pry: pry, obsA: obsA, obsB: obsB, encA: encA,
            patient: try await accounts.create(email: "alvarez@example.org", role: .patient, password: password, patientID: pa, practitionerID: nil),
            practitioner: try await accounts.create(email: "xu@example.org", role: .practitioner, password: password, patientID: nil, practitionerID: prx),
            admin: try await accounts.create(email: "admin@example.org", role: .admin, password: password, patientID: nil, practitionerID: nil),
            auditor: try await accounts.create(email: "auditor@example.org", role: .auditor, password: password, patientID: nil, practitionerID: nil))
    }

    func caller(_ user: User, _ scope: String) throws -> TestServer.Caller { .bearer(try s.token(for: user, scope: scope)) }

    /// A token of Dr Young (Practitioner `pry`), who takes care of nobody yet.
    func young(_ scope: String = "user/*.cruds") async throws -> TestServer.Caller {
        let user = try await s.services.identity.accounts.create(
            email: "young@example.org", role: .practitioner, password: Self.password, patientID: nil, practitionerID: pry)
        return try caller(user, scope)
    }

    func observation(for patient: String) -> JSON {
        j(#"{"resourceType":"Observation","status":"final","code":{"text":"weight"},"subject":{"reference":"Patient/\#(patient)"}}"#)
    }
}

@Suite struct AccessTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func unauthenticatedRequestsGet401WithAChallenge(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let reply = try await s.get("/fhir/Patient", as: .anonymous)
            #expect(reply.code == 401)
            #expect(reply.headers[.wwwAuthenticate] == "Bearer realm=\"HealthHub\"")
            #expect(reply["resourceType"]?.stringValue == "OperationOutcome" && reply.issueCodes == ["login"])
            #expect(try await s.request(.post, "/fhir/Patient", json: patientJSON, as: .anonymous).code == 401)
            // public: the CapabilityStatement and the SMART configuration
            #expect(try await s.get("/fhir/metadata", as: .anonymous).code == 200)
            let smart = try await s.get("/fhir/.well-known/smart-configuration", as: .anonymous)
            #expect(smart.code == 200)
            #expect(smart["token_endpoint"]?.stringValue == "http://localhost/oauth/token")
            #expect(smart["code_challenge_methods_supported"]?.arrayValue?.compactMap(\.stringValue) == ["S256"])
            let jwks = try await s.get("/.well-known/jwks.json", as: .anonymous)
            #expect(jwks["keys"]?.arrayValue?.first?["kid"]?.stringValue?.hasPrefix("es256-") == true)
            #expect(jwks["keys"]?.arrayValue?.first?["d"] == nil)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func forgedExpiredUnsignedAndMisdirectedTokensAreRefused(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let good = s.systemToken
            var parts = good.split(separator: ".").map(String.init)
            // forged: claims changed under the original signature
            var claims = try JSONSerialization.jsonObject(with: Base64URL.decode(parts[1])!) as! [String: Any]
            claims["scope"] = "system/*.cruds user/*.cruds"
            claims["role"] = "admin"
            let forgedClaims = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims))
            let forged = [parts[0], forgedClaims, parts[2]].joined(separator: ".")
            // alg=none: no signature at all
            let none = [Base64URL.encode(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)), forgedClaims, ""].joined(separator: ".")
            // signed by a key of our own making that claims HealthHub's kid
            let kid = s.services.identity.tokens.keys.keys.currentKID
            var foreignClaims = JWT.Claims(iss: TestServer.issuer, sub: "x", aud: .init([TestServer.fhirBase]), exp: Int64(Date().timeIntervalSince1970) + 60, iat: nil, jti: "j")
            foreignClaims.role = "system"
            foreignClaims.client_id = "x"
            foreignClaims.scope = "system/*.cruds"
            let foreign = try JWT.sign(foreignClaims, key: P256.Signing.PrivateKey(), kid: kid)
            // expired, and for another server
            let grant = TokenService.Grant(subject: "c", role: .system, scope: ScopeSet("system/*.cruds"), clientID: "c", patient: nil, fhirUser: nil, family: nil)
            let expired = try s.services.identity.tokens.issue(grant, issuer: TestServer.issuer, fhirBase: TestServer.fhirBase, now: Date().addingTimeInterval(-3600)).token
            let elsewhere = try s.services.identity.tokens.issue(grant, issuer: TestServer.issuer, fhirBase: "https://elsewhere.example/fhir").token
            parts[2] = String(parts[2].reversed())
            let mangled = parts.joined(separator: ".")
            for (name, token) in [
                ("forged", forged), ("alg=none", none), ("foreign key", foreign), ("expired", expired), ("wrong audience", elsewhere), ("mangled", mangled), ("garbage", "abc"),
            ] {
                let reply = try await s.get("/fhir/Patient", as: .bearer(token))
                #expect(reply.code == 401, "\(name)")
                #expect(reply.headers[.wwwAuthenticate]?.contains("error=\"invalid_token\"") == true, "\(name)")
            }
            #expect(try await s.get("/fhir/Patient", as: .bearer(good)).code == 200)
            // every refusal is in the audit trail
            let denied = try await s.get("/fhir/AuditEvent?subtype=denied&_count=50")
            #expect(denied.entries.count == 7)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientSeesOnlyTheirOwnCompartment(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let me = try w.caller(w.patient, "patient/*.cruds")
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: me).code == 200)
            #expect(try await s.get("/fhir/Observation/\(w.obsA)", as: me).code == 200)
            // another patient's record, and ids that do not exist, answer alike
            for path in ["Patient/\(w.pb)", "Observation/\(w.obsB)", "Observation/no-such-id", "Patient/\(w.pb)/_history", "Observation/\(w.obsB)/_history/1"] {
                let reply = try await s.get("/fhir/\(path)", as: me)
                #expect(reply.code == 403, "\(path)")
                #expect(reply.issueCodes == ["forbidden"], "\(path)")
            }
            // searches, totals and includes only see the own compartment
            let all = try await s.get("/fhir/Observation?_total=accurate", as: me)
            #expect(all.total == 1 && all.entries.compactMap { $0["resource"]?["id"]?.stringValue } == [w.obsA])
            #expect(try await s.get("/fhir/Observation?subject=Patient/\(w.pb)&_total=accurate", as: me).total == 0)
            #expect(try await s.get("/fhir/Patient?_total=accurate", as: me).total == 1)
            #expect(try await s.get("/fhir/Patient?_id=\(w.pb)&_total=accurate", as: me).total == 0)
            let revinclude = try await s.get("/fhir/Patient?_revinclude=Observation:subject", as: me)
            #expect(Set(revinclude.entries.compactMap { $0["resource"]?["id"]?.stringValue }) == [w.pa, w.obsA])
            let include = try await s.get("/fhir/Observation?_include=Observation:subject&_include=Observation:performer", as: me)
            #expect(Set(include.entries.compactMap { $0["resource"]?["id"]?.stringValue }) == [w.obsA, w.pa, w.prx])
            let history = try await s.get("/fhir/Observation/_history", as: me)
            #expect(history.total == 1 && history.entries.first?["resource"]?["id"]?.stringValue == w.obsA)
            #expect(try await s.get("/fhir/_history", as: me).code == 403)
            // writes stay inside the compartment
            #expect(try await s.post("/fhir/Observation", w.observation(for: w.pa), as: me).code == 201)
            #expect(try await s.post("/fhir/Observation", w.observation(for: w.pb), as: me).code == 403)
            #expect(try await s.post("/fhir/Observation", j(#"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#), as: me).code == 403)
            var theirs = try await s.get("/fhir/Observation/\(w.obsB)").body!.objectValue!
            theirs["status"] = .string("amended")
            #expect(try await s.put("/fhir/Observation/\(w.obsB)", .object(theirs), as: me).code == 403)
            #expect(try await s.request(.delete, "/fhir/Observation/\(w.obsB)", as: me).code == 403)
            // moving one's own observation to another patient is refused too
            var mine = try await s.get("/fhir/Observation/\(w.obsA)").body!.objectValue!
            mine["subject"] = .object(JSONObject([("reference", .string("Patient/\(w.pb)"))]))
            #expect(try await s.put("/fhir/Observation/\(w.obsA)", .object(mine), as: me).code == 403)
            // a transaction that touches another patient is refused whole
            let bundle = j(
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":\#(w.observation(for: w.pa).serializedString()),"request":{"method":"POST","url":"Observation"}},{"resource":\#(w.observation(for: w.pb).serializedString()),"request":{"method":"POST","url":"Observation"}}]}"#
            )
            #expect(try await s.post("/fhir", bundle, as: me).code == 403)
            #expect(try await s.get("/fhir/Observation?_total=accurate", as: me).total == 2)
            #expect(try await s.get("/fhir/Observation?_total=accurate").total == 3)
            // the refusals are audited, naming the patient's agent
            let audit = try await s.get("/fhir/AuditEvent?outcome=4&_count=100")
            let agents = audit.entries.compactMap { $0["resource"]?["agent"]?.arrayValue?.first?["who"]?["reference"]?.stringValue }
            #expect(agents.filter { $0 == "Patient/\(w.pa)" }.count >= 12)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func aPatientCannotTakeAnotherPatientsIdentifier(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let me = try w.caller(w.patient, "patient/*.cruds")
            let own = j(#"{"resourceType":"Patient","id":"\#(w.pa)","identifier":[{"system":"urn:mrn","value":"B-0007"}],"name":[{"family":"Alvarez"}]}"#)
            let put = try await s.put("/fhir/Patient/\(w.pa)", own, as: me)
            #expect(put.code == 403)
            let patch = try await s.request(
                .patch, "/fhir/Patient/\(w.pa)", body: #"[{"op":"add","path":"/identifier","value":[{"system":"urn:mrn","value":"B-0007"}]}]"#,
                headers: [.contentType: "application/json-patch+json"], as: me)
            #expect(patch.code == 403)
            // other changes to their own record stay possible
            let renamed = j(#"{"resourceType":"Patient","id":"\#(w.pa)","name":[{"family":"Alvarez-Ruiz"}]}"#)
            #expect(try await s.put("/fhir/Patient/\(w.pa)", renamed, as: me).code == 200)
            // staff with access may set identifiers
            #expect(try await s.put("/fhir/Patient/\(w.pa)", own).code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func scopesNarrowWhatARoleAllows(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let obsOnly = try w.caller(w.patient, "patient/Observation.rs")
            #expect(try await s.get("/fhir/Observation/\(w.obsA)", as: obsOnly).code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: obsOnly).code == 403)
            #expect(try await s.post("/fhir/Observation", w.observation(for: w.pa), as: obsOnly).code == 403)
            let v1 = try w.caller(w.patient, "patient/*.read")
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: v1).code == 200)
            #expect(try await s.post("/fhir/Observation", w.observation(for: w.pa), as: v1).code == 403)
            // _include of a type the token may not read is dropped, not leaked
            let include = try await s.get("/fhir/Observation?_include=Observation:subject", as: obsOnly)
            #expect(include.entries.compactMap { $0["resource"]?["resourceType"]?.stringValue } == ["Observation"])
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func practitionersSeeThePatientsInTheirCare(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let dr = try w.caller(w.practitioner, "user/*.cruds")
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: dr).code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pb)", as: dr).code == 403)
            #expect(try await s.searchIDs(as: dr, "Patient") == [w.pa])
            #expect(try await s.get("/fhir/Observation?_total=accurate", as: dr).total == 1)
            #expect(try await s.get("/fhir/Practitioner?_total=accurate", as: dr).total == 2)
            // a CareTeam membership adds a patient
            _ = try await s.create(j(#"{"resourceType":"CareTeam","subject":{"reference":"Patient/\#(w.pb)"},"participant":[{"member":{"reference":"Practitioner/\#(w.prx)"}}]}"#))
            #expect(try await s.get("/fhir/Patient/\(w.pb)", as: dr).code == 200)
            // a patient the practitioner registers is in their care
            let created = try await s.post("/fhir/Patient", j(#"{"resourceType":"Patient","name":[{"family":"Novak"}]}"#), as: dr)
            #expect(created.code == 201)
            #expect(try await s.get("/fhir/Patient/\(created.id!)", as: dr).code == 200)
            #expect(try await s.post("/fhir/Observation", w.observation(for: created.id!), as: dr).code == 201)
            // another practitioner sees none of them
            let dr2 = try await w.young()
            #expect(try await s.get("/fhir/Patient?_total=accurate", as: dr2).total == 0)
            #expect(try await s.get("/fhir/Observation/\(w.obsA)", as: dr2).code == 403)
            // break-glass: allowed with a reason, flagged in the audit trail
            let reason: HTTPFields = [HTTPField.Name("X-Break-Glass-Reason")!: "unconscious patient in the emergency department"]
            #expect(try await s.get("/fhir/Observation/\(w.obsA)", headers: reason, as: dr2).code == 200)
            let flagged = try await s.get("/fhir/AuditEvent?entity=Observation/\(w.obsA)&_count=50")
            let btg = flagged.entries.compactMap { $0["resource"] }.filter { $0["purposeOfEvent"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue == "BTG" }
            #expect(btg.count == 1)
            #expect(btg.first?["purposeOfEvent"]?.arrayValue?.first?["text"]?.stringValue == "unconscious patient in the emergency department")
            #expect(btg.first?["agent"]?.arrayValue?.first?["who"]?["reference"]?.stringValue == "Practitioner/\(w.pry)")
            // without break-glass a practitioner acts for treatment (the refused read above)
            let purposes = flagged.entries.compactMap { $0["resource"]?["purposeOfEvent"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue }
            #expect(purposes.contains("TREAT"))
            // patients cannot break the glass
            let me = try w.caller(w.patient, "patient/*.rs")
            #expect(try await s.get("/fhir/Patient/\(w.pb)", headers: reason, as: me).code == 403)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func adminsAndAuditorsStayOutOfClinicalData(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let admin = try w.caller(w.admin, "user/*.cruds")
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: admin).code == 403)
            #expect(try await s.get("/fhir/Observation?_total=accurate", as: admin).code == 403)
            #expect(try await s.get("/fhir/Practitioner/\(w.prx)", as: admin).code == 200)
            #expect(try await s.get("/fhir/AuditEvent", as: admin).code == 403)
            let reason: HTTPFields = [HTTPField.Name("X-Break-Glass-Reason")!: "data subject access request 2026-114"]
            #expect(try await s.get("/fhir/Patient/\(w.pa)", headers: reason, as: admin).code == 200)
            let auditor = try w.caller(w.auditor, "user/*.rs")
            #expect(try await s.get("/fhir/AuditEvent?_count=5", as: auditor).code == 200)
            #expect(try await s.get("/fhir/Patient/\(w.pa)", as: auditor).code == 403)
            #expect(try await s.get("/fhir/Practitioner/\(w.prx)", as: auditor).code == 403)
            #expect(try await s.get("/fhir/Patient/\(w.pa)", headers: reason, as: auditor).code == 403)
            // nobody writes the audit trail
            #expect(try await s.post("/fhir/AuditEvent", j(#"{"resourceType":"AuditEvent"}"#), as: auditor).code == 405)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func bundlesCannotGrantCareOrReachOtherPatients(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let dr = try w.caller(w.practitioner, "user/*.cruds")
            // an Encounter with patient B that would put B in the practitioner's care
            let encounter =
                #"{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/\#(w.pb)"},"participant":[{"individual":{"reference":"Practitioner/\#(w.prx)"}}]}"#
            for type in ["transaction", "batch"] {
                let bundle = j(#"{"resourceType":"Bundle","type":"\#(type)","entry":[{"resource":\#(encounter),"request":{"method":"POST","url":"Encounter"}}]}"#)
                let reply = try await s.post("/fhir", bundle, as: dr)
                #expect(reply.code == 403 || reply.entries.first?["response"]?["status"]?.stringValue?.hasPrefix("403") == true, "\(type)")
            }
            #expect(try await s.post("/fhir/Encounter", j(encounter), as: dr).code == 403)
            #expect(try await s.get("/fhir/Patient/\(w.pb)", as: dr).code == 403)
            // a patient's resource that also names another patient
            let me = try w.caller(w.patient, "patient/*.cruds")
            let both =
                #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/\#(w.pa)"},"performer":[{"reference":"Patient/\#(w.pb)"}]}"#
            #expect(
                try await s.post(
                    "/fhir", j(#"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":\#(both),"request":{"method":"POST","url":"Observation"}}]}"#), as: me
                ).code == 403)
            #expect(try await s.post("/fhir/Observation", j(both), as: me).code == 403)
            // a practitioner's bundle registering a new patient with an encounter is theirs
            let mine = j(
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","name":[{"family":"Okafor"}]},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"}},"request":{"method":"POST","url":"Encounter"}}]}"#
            )
            #expect(try await s.post("/fhir", mine, as: dr).code == 200)
        }
    }

    @Test(arguments: TestDatabaseKind.allCases)
    func chainsTasksAndChosenIdsStayWithinTheLimit(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let me = try w.caller(w.patient, "patient/*.cruds")
            // a chained parameter cannot test another patient's data
            let probe = try await s.post(
                "/fhir/Observation",
                j(
                    #"{"resourceType":"Observation","status":"final","code":{"text":"note"},"subject":{"reference":"Patient/\#(w.pa)"},"derivedFrom":[{"reference":"Observation/\#(w.obsB)"}]}"#
                ), as: me)
            #expect(probe.code == 201)
            #expect(try await s.get("/fhir/Observation?_id=\(probe.id!)&derived-from:Observation.status=final").entries.count == 1)
            #expect(try await s.get("/fhir/Observation?_id=\(probe.id!)&derived-from:Observation.status=final", as: me).entries.count == 0)
            // patient data outside the R4 compartment definition
            _ = try await s.create(j(#"{"resourceType":"Task","status":"requested","intent":"order","for":{"reference":"Patient/\#(w.pb)"}}"#))
            #expect(try await s.get("/fhir/Task?_total=accurate", as: me).total == 0)
            let binary = try await s.create(j(#"{"resourceType":"Binary","contentType":"text/plain","data":"aGVsbG8="}"#))
            #expect(try await s.get("/fhir/Binary/\(binary)", as: me).code == 403)
            // no creating at a chosen id: free, deleted and foreign ids all answer 403
            var body = try await s.get("/fhir/Observation/\(w.obsA)").body!.objectValue!
            body["id"] = .string("chosen-id-1")
            #expect(try await s.put("/fhir/Observation/chosen-id-1", .object(body), as: me).code == 403)
            let gone = try await s.create(w.observation(for: w.pb))
            #expect(try await s.request(.delete, "/fhir/Observation/\(gone)").code == 204)
            body["id"] = .string(gone)
            #expect(try await s.put("/fhir/Observation/\(gone)", .object(body), as: me).code == 403)
            // write-only scopes still find their own match for a conditional delete
            let writer = try w.caller(w.patient, "patient/Observation.cud")
            #expect(try await s.request(.delete, "/fhir/Observation?_id=\(probe.id!)", as: writer).code == 204)
            #expect(try await s.get("/fhir/Observation/\(probe.id!)").code == 410)
        }
    }

    /// Every role against every interaction on a patient in scope of the role (the patient's own
    /// record; the practitioner's patient): the expected status of each.
    @Test(arguments: TestDatabaseKind.allCases)
    func roleByInteractionMatrix(_ kind: TestDatabaseKind) async throws {
        try await TestServer.run(kind) { s in
            let w = try await AccessWorld.make(s)
            let system = try await s.services.identity.clients.create(name: "matrix", scopes: "system/*.cruds", redirectURIs: [], isPublic: false, jwks: nil).0
            let systemToken = try s.services.identity.tokens.issue(
                .init(subject: system.id, role: .system, scope: system.scopes, clientID: system.id, patient: nil, fhirUser: nil, family: nil),
                issuer: TestServer.issuer, fhirBase: TestServer.fhirBase
            ).token
            let callers: [(String, TestServer.Caller)] = [
                ("patient", try w.caller(w.patient, "patient/*.cruds")), ("practitioner", try w.caller(w.practitioner, "user/*.cruds")),
                ("admin", try w.caller(w.admin, "user/*.cruds")), ("auditor", try w.caller(w.auditor, "user/*.cruds")), ("system", .bearer(systemToken)),
            ]
            // read, search, history, create, update, delete, AuditEvent search
            let expected: [String: [Int]] = [
                "patient": [200, 200, 200, 201, 200, 204, 403],
                "practitioner": [200, 200, 200, 201, 200, 204, 403],
                "admin": [403, 403, 403, 403, 403, 403, 403],
                "auditor": [403, 403, 403, 403, 403, 403, 200],
                "system": [200, 200, 200, 201, 200, 204, 200],
            ]
            for (role, caller) in callers {
                let obs = try await s.create(w.observation(for: w.pa))
                var body = try await s.get("/fhir/Observation/\(obs)").body!.objectValue!
                body["status"] = .string("amended")
                let codes = [
                    try await s.get("/fhir/Observation/\(obs)", as: caller).code,
                    try await s.get("/fhir/Observation?subject=Patient/\(w.pa)", as: caller).code,
                    try await s.get("/fhir/Observation/\(obs)/_history", as: caller).code,
                    try await s.post("/fhir/Observation", w.observation(for: w.pa), as: caller).code,
                    try await s.put("/fhir/Observation/\(obs)", .object(body), as: caller).code,
                    try await s.request(.delete, "/fhir/Observation/\(obs)", as: caller).code,
                    try await s.get("/fhir/AuditEvent?_count=1", as: caller).code,
                ]
                #expect(codes == expected[role]!, "\(role)")
            }
        }
    }
}

extension TestServer {
    func searchIDs(as caller: Caller, _ query: String) async throws -> [String] {
        let reply = try await get("/fhir/\(query)", as: caller)
        return reply.entries.filter { $0["search"]?["mode"]?.stringValue == "match" }.compactMap { $0["resource"]?["id"]?.stringValue }
    }
}
