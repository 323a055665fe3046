import FHIR
import HTTPTypes
import Kernel
import SQLKit
import Storage
import TestSupport
import Testing

@Suite struct ScopeParsingTests {
    @Test(arguments: [
        ("patient/Observation.rs", ResourceScope.Context.patient, "Observation", "rs"),
        ("user/*.cruds", .user, "*", "cruds"),
        ("system/*.read", .system, "*", "rs"),
        ("user/Patient.write", .user, "Patient", "cud"),
        ("user/Patient.*", .user, "Patient", "cruds"),
        ("patient/Condition.cd", .patient, "Condition", "cd"),
    ])
    func clinicalScopes(_ text: String, _ context: ResourceScope.Context, _ type: String, _ letters: String) throws {
        let scope = try #require(ResourceScope(text))
        #expect(scope.context == context)
        #expect(scope.resourceType == type)
        #expect(scope.permissions == Set(letters.compactMap(Permission.init(rawValue:))))
    }

    @Test(arguments: [
        "openid", "launch/patient", "patient/Observation.sr", "patient/Observation.rr", "patient/Observation.",
        "patient/Observation.rs?category=laboratory", "patient/observation.rs", "patient/Obs3rvation.rs",
        "group/Observation.rs", "patient/Observation.x", "/Observation.rs",
    ])
    func notClinicalScopes(_ text: String) {
        #expect(ResourceScope(text) == nil)
    }

    @Test func scopeSetsDeduplicateAndGrantPerContext() {
        let scopes = ScopeSet("openid  patient/Observation.rs user/*.r patient/Observation.rs system/Patient.c")
        #expect(scopes.tokens == ["openid", "patient/Observation.rs", "user/*.r", "system/Patient.c"])
        #expect(scopes.text == "openid patient/Observation.rs user/*.r system/Patient.c")
        #expect(scopes.resources.count == 3)
        #expect(scopes.contexts(granting: .read, on: "Observation") == [.patient, .user])
        #expect(scopes.contexts(granting: .search, on: "Observation") == [.patient])
        #expect(scopes.contexts(granting: .read, on: "Encounter") == [.user])
        #expect(scopes.contexts(granting: .create, on: "Patient") == [.system])
        #expect(scopes.contexts(granting: .update, on: "Patient").isEmpty)
    }
}

@Suite struct AccessPolicyTests {
    let policy = AccessPolicy(definitions: R4.definitions)

    func principal(_ role: Role, _ scopes: String, patient: String? = nil, practitioner: String? = nil, breakGlass: String? = nil) -> Principal {
        Principal(
            subject: "u1", role: role, reference: "User/u1", patient: patient, practitioner: practitioner,
            scopes: ScopeSet(scopes), breakGlassReason: breakGlass)
    }

    /// The diagnostics of the 403 the policy answers, or nil when it allows the interaction.
    func refusal(_ p: Principal, _ type: String, _ permission: Permission) -> String? {
        do {
            _ = try policy.limit(p, type, permission)
            return nil
        } catch {
            #expect(error.status == .forbidden)
            #expect(error.issues.map(\.code) == ["forbidden"])
            return error.issues.first?.diagnostics
        }
    }

    @Test func patientsAreLimitedToTheirOwnCompartment() throws {
        let reader = principal(.patient, "patient/*.rs", patient: "p1")
        #expect(try policy.limit(reader, "Observation", .read) == .patients(["p1"]))
        #expect(try policy.limit(reader, "Patient", .search) == .patients(["p1"]))
        #expect(refusal(reader, "Observation", .create) == "The token's scopes do not allow creating Observation resources")

        let writer = principal(.patient, "patient/*.cruds", patient: "p1")
        #expect(try policy.limit(writer, "Observation", .update) == .patients(["p1"]))
        #expect(try policy.limit(writer, "Organization", .read) == .patients(["p1"]))
        #expect(policy.condition(.patients(["p1"]), type: "Organization") == nil)
        #expect(refusal(writer, "Organization", .create) == "Patients change only their own record")

        #expect(try policy.limit(principal(.patient, "user/*.rs", patient: "p1"), "Observation", .read) == .patients(["p1"]))
        #expect(refusal(principal(.patient, "patient/*.rs"), "Observation", .read) == "The token's scopes do not allow reading Observation resources")
        #expect(refusal(principal(.patient, "system/*.rs", patient: "p1"), "Observation", .read) == "The token's scopes do not allow reading Observation resources")
    }

    @Test func practitionersSeeTheirCareRelationshipsOrAllUnderBreakGlass() throws {
        #expect(try policy.limit(principal(.practitioner, "user/*.cruds", practitioner: "pr1"), "Observation", .search) == .careOf(practitioner: "pr1"))
        #expect(try policy.limit(principal(.practitioner, "user/*.cruds", practitioner: "pr1", breakGlass: "ER"), "Observation", .search) == .unrestricted)
        #expect(try policy.limit(principal(.practitioner, "patient/*.rs", patient: "p9", practitioner: "pr1"), "Observation", .read) == .patients(["p9"]))
        // break-glass widens user/ scopes only: a patient-context launch stays on its patient
        #expect(try policy.limit(principal(.practitioner, "patient/*.rs", patient: "p9", practitioner: "pr1", breakGlass: "ER"), "Observation", .read) == .patients(["p9"]))
        #expect(refusal(principal(.practitioner, "user/*.rs"), "Observation", .read) == "The token's scopes do not allow reading Observation resources")
        #expect(refusal(principal(.practitioner, "user/Patient.rs", practitioner: "pr1"), "Observation", .read) == "The token's scopes do not allow reading Observation resources")
    }

    @Test func adminsReadClinicalDataOnlyThroughBreakGlass() throws {
        let admin = principal(.admin, "user/*.cruds")
        #expect(try policy.limit(admin, "Organization", .update) == .unrestricted)
        #expect(refusal(admin, "Observation", .read) == "Admins read clinical data only through break-glass (X-Break-Glass-Reason)")
        #expect(refusal(admin, "Binary", .read) == "Admins read clinical data only through break-glass (X-Break-Glass-Reason)")
        #expect(try policy.limit(principal(.admin, "user/*.cruds", breakGlass: "audit"), "Observation", .read) == .unrestricted)
        #expect(refusal(principal(.admin, "system/*.cruds"), "Organization", .read) == "An admin needs user/ scopes")
    }

    @Test func backendServicesNeedSystemScopes() throws {
        #expect(try policy.limit(principal(.system, "system/*.rs"), "Observation", .search) == .unrestricted)
        #expect(refusal(principal(.system, "user/*.rs"), "Observation", .search) == "A backend service needs system/ scopes")
        #expect(refusal(principal(.system, "system/Patient.rs"), "Observation", .search) == "The token's scopes do not allow searching Observation resources")
    }

    @Test func onlyAuditorsAndServicesReadTheAuditTrail() throws {
        #expect(try policy.limit(principal(.auditor, "user/AuditEvent.rs"), "AuditEvent", .search) == .unrestricted)
        #expect(try policy.limit(principal(.system, "system/AuditEvent.rs"), "AuditEvent", .read) == .unrestricted)
        #expect(refusal(principal(.auditor, "user/AuditEvent.cruds"), "AuditEvent", .create) == "Only auditors read the audit trail")
        #expect(refusal(principal(.practitioner, "user/*.rs", practitioner: "pr1", breakGlass: "ER"), "AuditEvent", .read) == "Only auditors read the audit trail")
        #expect(refusal(principal(.auditor, "user/*.rs"), "Patient", .read) == "Auditors read AuditEvents only")
    }

    @Test func scopesWithAQueryGrantNothing() {
        let p = principal(.patient, "patient/Observation.rs?category=laboratory", patient: "p1")
        #expect(refusal(p, "Observation", .search) == "The token's scopes do not allow searching Observation resources")
    }

    @Test func patientDataIsTheCompartmentPlusTheTypesOutsideIt() {
        for type in ["Patient", "Observation", "Encounter", "AuditEvent", "Task", "Device", "Binary", "Bundle", "Group"] {
            #expect(policy.isPatientData(type), "\(type)")
        }
        for type in ["Organization", "Practitioner", "Location", "ValueSet"] {
            #expect(!policy.isPatientData(type), "\(type)")
        }
    }

    @Test func requestAccessOfHealthHubAndOfPrincipals() throws {
        let own = RequestAccess(healthHub: .demoData, policy: policy)
        #expect(try own.limit("Observation", .delete) == .unrestricted)
        #expect(own.seesEverything)
        #expect(!own.isBreakGlass)
        #expect(own.assignsCreatedPatients == nil)

        let carer = RequestAccess(principal: principal(.practitioner, "user/*.cruds", practitioner: "pr1"), policy: policy)
        #expect(carer.assignsCreatedPatients == "pr1")
        #expect(!carer.seesEverything)
        let emergency = RequestAccess(principal: principal(.practitioner, "user/*.cruds", practitioner: "pr1", breakGlass: "ER"), policy: policy)
        #expect(emergency.isBreakGlass)
        #expect(emergency.assignsCreatedPatients == nil)
        #expect(emergency.seesEverything)

        #expect(RequestAccess(principal: principal(.system, "system/*.read"), policy: policy).seesEverything)
        #expect(!RequestAccess(principal: principal(.system, "system/Observation.read"), policy: policy).seesEverything)
        #expect(!RequestAccess(principal: principal(.patient, "patient/*.rs", patient: "p1"), policy: policy).seesEverything)

        let outside = RequestAccess.outside("Patient", String(repeating: "x", count: 100))
        #expect(outside.status == .forbidden)
        #expect(outside.issues.first?.diagnostics == "Patient/\(String(repeating: "x", count: 64)) is not in a patient record this token may access")
    }

    // MARK: Conditions in SQL

    @Test func compartmentConditionsPerTypeAndLimit() async throws {
        let conditions: [SQLQueryString?] = [
            policy.condition(.patients(["p1", "p2"]), type: "Observation"),
            policy.condition(.patients(["p1"]), type: "Patient"),
            policy.condition(.patients([]), type: "Patient"),
            policy.condition(.patients(["p1"]), type: "Binary"),
            policy.condition(.careOf(practitioner: "pr1"), type: "Encounter"),
        ]
        #expect(policy.condition(.unrestricted, type: "Observation") == nil)
        #expect(policy.condition(.patients(["p1"]), type: "Organization") == nil)
        #expect(policy.historyCondition(.unrestricted, type: "Observation") == nil)
        let all = try await SQLFixture.run(conditions.map { SQLFixture.matching(try #require($0)) })
        #expect(
            all[0].condition
                == "EXISTS (SELECT 1 FROM hh_idx_reference c WHERE c.res_type = r.res_type AND c.res_id = r.res_id AND c.param IN (?1, ?2) AND c.target_type = 'Patient' AND c.target_id IN (?3, ?4))"
        )
        #expect(all[0].binds == ["subject", "performer", "p1", "p2"])
        #expect(all[1].condition == "r.res_id IN (?1)")
        #expect(all[2].condition == "r.res_id IN (NULL)")
        #expect(all[3].condition == "1 = 0")
        #expect(all[4].condition.contains("SELECT a.patient_id FROM hh_care_assignment a WHERE a.practitioner_id = ?2"))
        #expect(all[4].condition.contains("NOT EXISTS (SELECT 1 FROM hh_care_not_granted g"))
        #expect(all[4].binds == ["patient", "pr1", "pr1"])

        let history = try #require(policy.historyCondition(.patients(["p1"]), type: "Observation"))
        let rendered = try await SQLFixture.run(["SELECT h.res_id FROM hh_resource_history h WHERE " + history])
        #expect(
            rendered[0].sql.contains(
                "FROM hh_history_patient c WHERE c.res_type = h.res_type AND c.res_id = h.res_id AND c.param IN (?1, ?2) AND c.version = h.version AND c.patient_id IN (?3))"))
    }

    @Test func visibilityOfTypesTheScopesDoNotReachIsNothing() async throws {
        let access = RequestAccess(principal: principal(.patient, "patient/Observation.rs", patient: "p1"), policy: policy)
        let conditions = [access.visibility("Condition"), access.visibility("Organization"), access.visibility("Observation", .search)]
        #expect(RequestAccess(principal: principal(.patient, "patient/*.rs", patient: "p1"), policy: policy).visibility("Organization") == nil)
        let all = try await SQLFixture.run(conditions.map { SQLFixture.matching(try #require($0)) })
        #expect(all[0].condition == "1 = 0")
        #expect(all[1].condition == "1 = 0")
        #expect(all[2].condition.hasPrefix("EXISTS (SELECT 1 FROM hh_idx_reference c WHERE c.res_type = r.res_type AND c.res_id = r.res_id"))
        #expect(all[2].binds.last == "p1")
    }

    // MARK: Decisions on a database

    /// o1 belongs to p1, o2 to p2, o3 (deleted) to p1; pr1 is assigned p1 and takes part in
    /// Encounter e1 of p3.
    static let setup = [
        SQLFixture.resources(["Observation/o1", "Observation/o2", "Encounter/e1"]),
        "INSERT INTO hh_resource (res_type, res_id, version, last_updated, deleted, key_id, content) VALUES ('Observation', 'o3', 2, 0, 1, 'k', X'00')",
        """
        INSERT INTO hh_idx_reference (res_type, res_id, param, target_type, target_id, url) VALUES
        ('Observation', 'o1', 'subject', 'Patient', 'p1', ''), ('Observation', 'o2', 'subject', 'Patient', 'p2', ''),
        ('Observation', 'o3', 'subject', 'Patient', 'p1', ''),
        ('Encounter', 'e1', 'participant', 'Practitioner', 'pr1', ''), ('Encounter', 'e1', 'subject', 'Patient', 'p3', ''),
        ('Encounter', 'e1', 'patient', 'Patient', 'p3', '')
        """,
        "INSERT INTO hh_care_assignment (practitioner_id, patient_id, created_at) VALUES ('pr1', 'p1', 0)",
    ]

    @Test func permitsOnlyCurrentResourcesInsideTheLimit() async throws {
        let policy = self.policy
        try await TestDatabases.with(.sqlite, migrations: SQLFixture.migrations) { db in
            try await db.transaction { tx in for s in Self.setup { try await tx.sql.raw("\(unsafeRaw: s)").run() } }
            let decisions = try await db.read { sql in
                [
                    try await policy.permits(.patients(["p1"]), type: "Observation", id: "o1", on: sql),
                    try await policy.permits(.patients(["p1"]), type: "Observation", id: "o2", on: sql),
                    try await policy.permits(.patients(["p1"]), type: "Observation", id: "o3", on: sql),
                    try await policy.permits(.patients(["p1"]), type: "Observation", id: "missing", on: sql),
                    try await policy.permits(.unrestricted, type: "Observation", id: "missing", on: sql),
                    try await policy.permits(.careOf(practitioner: "pr1"), type: "Observation", id: "o1", on: sql),
                    try await policy.permits(.careOf(practitioner: "pr1"), type: "Observation", id: "o2", on: sql),
                    try await policy.permits(.careOf(practitioner: "pr1"), type: "Encounter", id: "e1", on: sql),
                    try await policy.permits(.careOf(practitioner: "pr2"), type: "Observation", id: "o1", on: sql),
                ]
            }
            #expect(decisions == [true, false, false, false, true, true, false, true, false])
        }
    }

    @Test func careRelationshipsComeFromAssignmentsAndEncountersButNotFromBreakGlassWrites() async throws {
        let policy = self.policy
        try await TestDatabases.with(.sqlite, migrations: SQLFixture.migrations) { db in
            try await db.transaction { tx in for s in Self.setup { try await tx.sql.raw("\(unsafeRaw: s)").run() } }
            func covers(_ patients: [String]) async throws -> Bool {
                try await db.read { try await policy.covers(.careOf(practitioner: "pr1"), patients: patients, on: $0) }
            }
            #expect(try await covers(["p1"]))
            #expect(try await covers(["p1", "p3"]))
            #expect(try await covers(["p1", "p2"]) == false)

            try await db.transaction { try await AccessPolicy.noteCareWrite(type: "Encounter", id: "e1", grantsCare: false, in: $0) }
            #expect(try await covers(["p3"]) == false)
            try await db.transaction { try await AccessPolicy.noteCareWrite(type: "Encounter", id: "e1", grantsCare: true, in: $0) }
            #expect(try await covers(["p3"]))

            try await db.transaction { try await AccessPolicy.assign(practitioner: "pr1", patient: "p2", in: $0) }
            #expect(try await covers(["p1", "p2"]))
            try await db.transaction { try await AccessPolicy.unassign(practitioner: "pr1", patient: "p2", in: $0) }
            #expect(try await covers(["p2"]) == false)
        }
    }

    @Test func requestsAreRefusedOutsideTheirLimitWithA403() async throws {
        let access = RequestAccess(principal: principal(.patient, "patient/*.cruds", patient: "p1"), policy: policy)
        let limit = try access.limit("Observation", .update)
        try await TestDatabases.with(.sqlite, migrations: SQLFixture.migrations) { db in
            try await db.transaction { tx in for s in Self.setup { try await tx.sql.raw("\(unsafeRaw: s)").run() } }
            try await db.read { sql in
                try await access.require(limit, "Observation", "o1", on: sql)
                try await access.requireContent(limit, "Observation", patients: ["Patient/p1"], on: sql)
                try await access.requireContent(.patients(["p1"]), "Organization", patients: [], on: sql)
                let notHers = await #expect(throws: FHIRError.self) { try await access.require(limit, "Observation", "o2", on: sql) }
                #expect(notHers?.status == .forbidden)
                #expect(notHers?.issues.first?.diagnostics == "Observation/o2 is not in a patient record this token may access")
                let unknown = await #expect(throws: FHIRError.self) { try await access.require(limit, "Observation", "nope", on: sql) }
                #expect(unknown?.issues.first?.diagnostics == "Observation/nope is not in a patient record this token may access")
                for patients in [["Patient/p2"], [], ["p1", "p2"]] {
                    let error = await #expect(throws: FHIRError.self, "\(patients)") { try await access.requireContent(limit, "Observation", patients: patients, on: sql) }
                    #expect(error?.issues.first?.diagnostics == "A Observation written with this token must belong to a patient it may access")
                }
            }
        }
    }
}
