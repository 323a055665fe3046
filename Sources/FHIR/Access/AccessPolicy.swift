import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Storage

/// Which patients' data a request may touch, once scopes and role allow the interaction.
package enum CompartmentLimit: Sendable, Equatable {
    /// Any patient (backend services, break-glass, reference data).
    case unrestricted
    /// Only these patients' compartments (a patient user; a launch with a patient in context).
    case patients([String])
    /// The patients a practitioner has a care relationship with: a CareTeam or Encounter they
    /// take part in, or an explicit assignment (`healthhub care assign`).
    case careOf(practitioner: String)
}

/// Authorization of FHIR interactions: the intersection of the token's scopes, the account's
/// role and the patient compartment. The compartment part is SQL over the search index, added to
/// the query itself, so totals, `_include` and paging only ever see permitted rows.
package struct AccessPolicy: Sendable {
    /// Resource type -> its reference search parameters that name the patient (R4 Patient
    /// CompartmentDefinition).
    let compartmentParams: [String: [String]]

    package init(definitions: FHIRDefinitions) {
        var params = definitions.patientCompartment
        params["Patient"] = ["link"]
        // Types that hold patient data but are not in the R4 Patient CompartmentDefinition:
        // limited by their patient parameter, or (Binary: no such parameter) not at all visible
        // to a limited token.
        for (type, list) in Self.patientDataOutsideTheCompartment where params[type] == nil { params[type] = list }
        self.compartmentParams = params
    }

    static let patientDataOutsideTheCompartment: [String: [String]] = [
        "Task": ["patient"], "Device": ["patient"], "Contract": ["patient"], "Group": ["member"], "Person": ["patient"],
        "Binary": [], "Linkage": [], "Bundle": [], "Composition": ["patient", "subject"],
    ]

    /// Types a patient writes only through operations, which hold the rules a plain write would
    /// skip (office hours, the booking grid, holds that expire, per-patient limits, approval).
    package static let patientWritesThroughOperations: [String: String] = [
        "Appointment": "$hold, $book, $reschedule and $cancel"
    ]

    /// Types that hold patient data (Patient and every type of its compartment).
    package func isPatientData(_ type: String) -> Bool { compartmentParams[type] != nil }

    /// The limit under which `principal` may perform `permission` on `type`, or a 403.
    package func limit(_ principal: Principal, _ type: String, _ permission: Permission) throws(FHIRError) -> CompartmentLimit {
        let contexts = principal.scopes.contexts(granting: permission, on: type)
        let verb = Self.verb(permission)
        guard !contexts.isEmpty else {
            throw Self.forbidden("The token's scopes do not allow \(verb) \(type) resources")
        }
        if type == "AuditEvent" {
            guard principal.role == .auditor || principal.role == .system, permission == .read || permission == .search else {
                throw Self.forbidden("Only auditors read the audit trail")
            }
            return .unrestricted
        }
        switch principal.role {
        case .system:
            guard contexts.contains(.system) else { throw Self.forbidden("A backend service needs system/ scopes") }
            return .unrestricted
        case .auditor:
            throw Self.forbidden("Auditors read AuditEvents only")
        case .admin:
            guard contexts.contains(.user) else { throw Self.forbidden("An admin needs user/ scopes") }
            if principal.breakGlassReason != nil || !isPatientData(type) { return .unrestricted }
            throw Self.forbidden("Admins read clinical data only through break-glass (X-Break-Glass-Reason)")
        case .patient:
            guard contexts.contains(.user) || contexts.contains(.patient), let patient = principal.patient else {
                throw Self.forbidden("The token's scopes do not allow \(verb) \(type) resources")
            }
            if !isPatientData(type) && permission != .read && permission != .search {
                throw Self.forbidden("Patients change only their own record")
            }
            return .patients([patient])
        case .practitioner:
            if principal.breakGlassReason != nil, contexts.contains(.user) { return .unrestricted }
            if contexts.contains(.user), let practitioner = principal.practitioner { return .careOf(practitioner: practitioner) }
            if contexts.contains(.patient), let patient = principal.patient { return .patients([patient]) }
            throw Self.forbidden("The token's scopes do not allow \(verb) \(type) resources")
        }
    }

    static func verb(_ p: Permission) -> String {
        switch p {
        case .create: "creating"
        case .read: "reading"
        case .update: "updating"
        case .delete: "deleting"
        case .search: "searching"
        }
    }

    package static func forbidden(_ message: String) -> FHIRError {
        FHIRError(.forbidden, code: "forbidden", message)
    }

    /// The condition a row of `hh_resource` of `type` (aliased `alias`) must meet, or nil when
    /// every row is visible.
    package func condition(_ limit: CompartmentLimit, type: String, alias: String = "r") -> SQLQueryString? {
        compartmentCondition(limit, type: type, alias: alias, versioned: false)
    }

    /// The same rule for a row of `hh_resource_history` (aliased `alias`): the version itself
    /// must name a permitted patient, whatever the resource's current version names. A
    /// resource that moved from one patient to another keeps each version with its own patient.
    package func historyCondition(_ limit: CompartmentLimit, type: String, alias: String = "h") -> SQLQueryString? {
        compartmentCondition(limit, type: type, alias: alias, versioned: true)
    }

    private func compartmentCondition(_ limit: CompartmentLimit, type: String, alias: String, versioned: Bool) -> SQLQueryString? {
        guard let params = compartmentParams[type] else { return nil }
        guard let set = patientSet(limit) else { return nil }
        if type == "Patient" { return "\(unsafeRaw: alias).res_id IN (" + set + ")" }
        if params.isEmpty { return "1 = 0" }
        var list: SQLQueryString = ""
        for (i, p) in params.enumerated() { list += i == 0 ? "\(bind: p)" : ", \(bind: p)" }
        let same: SQLQueryString = "c.res_type = \(unsafeRaw: alias).res_type AND c.res_id = \(unsafeRaw: alias).res_id AND c.param IN (" + list + ")"
        if versioned {
            return "EXISTS (SELECT 1 FROM hh_history_patient c WHERE " + same + " AND c.version = \(unsafeRaw: alias).version AND c.patient_id IN (" + set + "))"
        }
        return "EXISTS (SELECT 1 FROM hh_idx_reference c WHERE " + same + " AND c.target_type = 'Patient' AND c.target_id IN (" + set + "))"
    }

    /// What goes inside `IN (...)` for the permitted patient ids (a list or a subquery), or nil
    /// when unrestricted.
    func patientSet(_ limit: CompartmentLimit) -> SQLQueryString? {
        switch limit {
        case .unrestricted:
            return nil
        case .patients(let ids):
            var set: SQLQueryString = ""
            for (i, id) in ids.enumerated() { set += i == 0 ? "\(bind: id)" : ", \(bind: id)" }
            return ids.isEmpty ? "NULL" : set
        case .careOf(let practitioner):
            return """
                SELECT a.patient_id FROM hh_care_assignment a WHERE a.practitioner_id = \(bind: practitioner) \
                UNION SELECT s.target_id FROM hh_idx_reference m JOIN hh_idx_reference s ON s.res_type = m.res_type AND s.res_id = m.res_id \
                WHERE m.res_type IN ('Encounter', 'CareTeam') AND m.param = 'participant' AND m.target_id = \(bind: practitioner) \
                AND m.target_type = 'Practitioner' AND s.param = 'subject' AND s.target_type = 'Patient' \
                AND NOT EXISTS (SELECT 1 FROM hh_care_not_granted g WHERE g.res_type = m.res_type AND g.res_id = m.res_id)
                """
        }
    }

    /// Whether the current, not deleted resource is visible under the limit (false when it does not exist).
    package func permits(_ limit: CompartmentLimit, type: String, id: String, on db: any SQLDatabase) async throws -> Bool {
        guard let condition = condition(limit, type: type) else { return true }
        let q: SQLQueryString = "SELECT 1 AS one FROM hh_resource r WHERE r.res_type = \(bind: type) AND r.res_id = \(bind: id) AND r.deleted = 0 AND " + condition
        return try await db.raw(q).first() != nil
    }

    /// Whether every one of `patients` (ids) is within the limit.
    package func covers(_ limit: CompartmentLimit, patients: [String], on db: any SQLDatabase) async throws -> Bool {
        switch limit {
        case .unrestricted: return true
        case .patients(let ids): return patients.allSatisfy(ids.contains)
        case .careOf:
            guard !patients.isEmpty, let set = patientSet(limit) else { return true }
            var list: SQLQueryString = ""
            for (i, id) in patients.enumerated() { list += i == 0 ? "\(bind: id)" : ", \(bind: id)" }
            let q: SQLQueryString = "SELECT DISTINCT q.patient_id FROM (" + set + ") q WHERE q.patient_id IN (" + list + ")"
            let n = try await db.raw(q).all().count
            return n == Set(patients).count
        }
    }

    package static let careMigrations = [
        Migration("fhir.005-care-assignment") { d in
            [
                "CREATE TABLE hh_care_assignment (practitioner_id TEXT NOT NULL, patient_id TEXT NOT NULL, created_at \(d.bigintType) NOT NULL, PRIMARY KEY (practitioner_id, patient_id))",
                "CREATE INDEX hh_care_assignment_patient ON hh_care_assignment (patient_id)",
            ]
        },
        // Encounters and CareTeams whose current version was written under break-glass: they
        // grant no care relationship (an emergency access must not make itself permanent).
        // Renamed by fhir.008.
        Migration("fhir.007-break-glass-care") { _ in
            [
                "CREATE TABLE hh_break_glass_care (res_type TEXT NOT NULL, res_id TEXT NOT NULL, PRIMARY KEY (res_type, res_id))"
            ]
        },
        // The same list, now also of Encounters and CareTeams a patient wrote: named for what
        // it means, whoever wrote them.
        Migration("fhir.008-care-not-granted") { _ in
            ["ALTER TABLE hh_break_glass_care RENAME TO hh_care_not_granted"]
        },
    ]

    /// The types whose `participant` makes a care relationship.
    package static let careTypes: Set<String> = ["Encounter", "CareTeam"]

    /// Records whether the current version of an Encounter or CareTeam grants care
    /// (`RequestAccess.grantsCare`): one that does not (break-glass, or a patient wrote it)
    /// grants none until someone who may grant care writes it again.
    package static func noteCareWrite(type: String, id: String, grantsCare: Bool, in tx: DatabaseTransaction) async throws {
        guard careTypes.contains(type) else { return }
        try await tx.sql.raw("DELETE FROM hh_care_not_granted WHERE res_type = \(bind: type) AND res_id = \(bind: id)").run()
        if !grantsCare {
            try await tx.sql.raw("INSERT INTO hh_care_not_granted (res_type, res_id) VALUES (\(bind: type), \(bind: id))").run()
        }
    }

    /// Records an explicit care relationship (idempotent).
    package static func assign(practitioner: String, patient: String, in tx: DatabaseTransaction) async throws {
        try await tx.sql.raw("DELETE FROM hh_care_assignment WHERE practitioner_id = \(bind: practitioner) AND patient_id = \(bind: patient)").run()
        try await tx.sql.raw(
            "INSERT INTO hh_care_assignment (practitioner_id, patient_id, created_at) VALUES (\(bind: practitioner), \(bind: patient), \(bind: Int64(Now.date.timeIntervalSince1970 * 1000)))"
        ).run()
    }

    package static func unassign(practitioner: String, patient: String, in tx: DatabaseTransaction) async throws {
        try await tx.sql.raw("DELETE FROM hh_care_assignment WHERE practitioner_id = \(bind: practitioner) AND patient_id = \(bind: patient)").run()
    }
}
