import Kernel
import SQLKit
import Storage

/// Who acts: a principal established by authentication, or HealthHub itself for one of its own
/// tasks. There is no third case: nothing is ever inferred from a missing principal.
package enum Caller: Sendable, Equatable {
    case principal(Principal)
    case healthHub(HealthHubTask)
}

/// What HealthHub does on its own behalf, unlimited by any token: named, so each use is a
/// deliberate choice of the code path that runs it (the CLI import, the demo loader), never
/// reachable from a request.
package enum HealthHubTask: String, Sendable {
    case importFiles = "import"
    case demoData = "demo"
    /// Scheduling: reading practitioners' Schedules for free times (they name no patient), and
    /// its background jobs (cancelling holds that ran out).
    case scheduling = "scheduling"
    /// Messaging: reading a patient's email address for a notification of a new message.
    case messaging = "messaging"
}

/// The access of one interaction: its actor under the policy.
package struct RequestAccess: Sendable {
    package let caller: Caller
    let policy: AccessPolicy
    /// The FHIR operation this access writes for (`book`), set by the controller for operation
    /// calls: a patient writes some types only through their operations
    /// (`AccessPolicy.patientWritesThroughOperations`).
    package private(set) var operation: String?

    /// The same access, writing for `operation`.
    package func forOperation(_ code: String) -> RequestAccess {
        var copy = self
        copy.operation = code
        return copy
    }

    /// A request's access: always with the principal its authentication established.
    package init(principal: Principal, policy: AccessPolicy) {
        self.caller = .principal(principal)
        self.policy = policy
    }

    /// HealthHub itself, for `task`; not limited.
    package init(healthHub task: HealthHubTask, policy: AccessPolicy) {
        self.caller = .healthHub(task)
        self.policy = policy
    }

    var principal: Principal? {
        if case .principal(let p) = caller { return p }
        return nil
    }

    /// The limit of an interaction, or a 403 naming what the token lacks.
    package func limit(_ type: String, _ permission: Permission) throws(FHIRError) -> CompartmentLimit {
        switch caller {
        case .principal(let principal):
            if principal.role == .patient, operation == nil, permission != .read, permission != .search,
                let through = AccessPolicy.patientWritesThroughOperations[type]
            {
                throw AccessPolicy.forbidden("Patients change \(type) resources only through \(through)")
            }
            return try policy.limit(principal, type, permission)
        case .healthHub: return .unrestricted
        }
    }

    /// The SQL condition on `r` under `limit`, nil when every row of the type is visible.
    package func condition(_ limit: CompartmentLimit, type: String) -> SQLQueryString? {
        policy.condition(limit, type: type)
    }

    /// The SQL condition on a history row `h` under `limit`: the version's own patients decide.
    package func historyCondition(_ limit: CompartmentLimit, type: String) -> SQLQueryString? {
        policy.historyCondition(limit, type: type)
    }

    /// The rows of `type` (aliased `alias`) this request may see for `permission`: nil (all),
    /// a condition, or `1 = 0` when the scopes do not allow it at all. Used for `_include`,
    /// `_revinclude`, chained parameters, conditional references and conditional writes.
    package func visibility(_ type: String, _ permission: Permission = .read, alias: String = "r") -> SQLQueryString? {
        guard let limit = try? limit(type, permission) else { return "1 = 0" }
        return policy.condition(limit, type: type, alias: alias)
    }

    /// A 403 for a resource outside the limit. Also used for resources that do not exist, so
    /// that a limited token cannot probe which ids exist.
    package static func outside(_ type: String, _ id: String) -> FHIRError {
        AccessPolicy.forbidden("\(type)/\(id.prefix(64)) is not in a patient record this token may access")
    }

    /// Throws unless the current resource exists and is within the limit (no-op when unlimited).
    package func require(_ limit: CompartmentLimit, _ type: String, _ id: String, on db: any SQLDatabase) async throws {
        guard policy.condition(limit, type: type) != nil else { return }
        guard try await policy.permits(limit, type: type, id: id, on: db) else { throw Self.outside(type, id) }
    }

    /// Throws unless content written under `limit` stays within it: a patient-data resource must
    /// name at least one patient, and only permitted ones.
    package func requireContent(_ limit: CompartmentLimit, _ type: String, patients: [String], on db: any SQLDatabase) async throws {
        guard policy.condition(limit, type: type) != nil else { return }
        let ids = patients.map { $0.hasPrefix("Patient/") ? String($0.dropFirst(8)) : $0 }
        guard !ids.isEmpty, try await policy.covers(limit, patients: ids, on: db) else {
            throw AccessPolicy.forbidden("A \(type) written with this token must belong to a patient it may access")
        }
    }

    /// Whether the request declared an emergency (break-glass).
    package var isBreakGlass: Bool { principal?.breakGlassReason != nil }

    /// Whether an Encounter or CareTeam this request writes makes its participants carers of its
    /// subject: not under break-glass (an emergency access must not make itself permanent) and
    /// not when a patient writes it (a patient cannot enlist a practitioner, nor be enlisted by
    /// one they named). Practitioners, backend clients and HealthHub's imports do.
    package var grantsCare: Bool {
        guard let principal else { return true }
        return principal.breakGlassReason == nil && principal.role != .patient
    }

    /// Whether a practitioner creating a Patient becomes its carer (so they can go on to see it).
    package var assignsCreatedPatients: String? {
        guard let principal, principal.role == .practitioner, principal.breakGlassReason == nil else { return nil }
        return principal.practitioner
    }

    /// Whether the request may read history across all types (unlimited for every type).
    /// Whether a patient acts (their own account, not staff or a backend service).
    package var actsForPatient: Bool { principal?.role == .patient }

    package var seesEverything: Bool {
        guard let principal else { return true }  // HealthHub itself
        switch principal.role {
        case .system: return principal.scopes.resources.contains { $0.context == .system && $0.resourceType == "*" && $0.permissions.contains(.read) }
        case .admin, .practitioner:
            return principal.breakGlassReason != nil && principal.scopes.resources.contains { $0.context == .user && $0.resourceType == "*" && $0.permissions.contains(.read) }
        case .patient, .auditor: return false
        }
    }
}
