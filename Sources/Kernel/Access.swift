import Foundation

/// What an account is for. The role bounds what any token of that account can reach, whatever
/// its scopes say.
package enum Role: String, Sendable, CaseIterable, Codable {
    /// Linked to a Patient resource; sees that patient's compartment only.
    case patient
    /// Linked to a Practitioner; sees the patients they have a care relationship with.
    case practitioner
    /// Manages users and configuration; reads clinical data only through break-glass.
    case admin
    /// Reads AuditEvents only.
    case auditor
    /// A backend service (client credentials): its scopes alone decide.
    case system
}

/// One letter of a SMART v2 permission string (`cruds`).
package enum Permission: Character, Sendable, CaseIterable {
    case create = "c"
    case read = "r"
    case update = "u"
    case delete = "d"
    case search = "s"
}

/// A SMART clinical scope: `patient/Observation.rs`, `user/*.cruds`, `system/*.read` (v1).
package struct ResourceScope: Sendable, Hashable {
    package enum Context: String, Sendable {
        case patient, user, system
    }

    package let context: Context
    /// A resource type or `*`.
    package let resourceType: String
    package let permissions: Set<Permission>

    /// Parses one scope token; nil for anything that is not a clinical scope. A v2 scope with a
    /// query (`patient/Observation.rs?category=laboratory`) grants nothing: HealthHub does not
    /// enforce scope queries, and granting the whole type instead would widen the grant.
    package init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/"), let dot = text.lastIndex(of: "."), slash < dot, !text.contains("?") else { return nil }
        guard let context = Context(rawValue: String(text[..<slash])) else { return nil }
        let type = String(text[text.index(after: slash)..<dot])
        guard type == "*" || (type.first?.isUppercase == true && type.allSatisfy { $0.isLetter }) else { return nil }
        let perms = String(text[text.index(after: dot)...])
        var set = Set<Permission>()
        switch perms {
        case "read": set = [.read, .search]
        case "write": set = [.create, .update, .delete]
        case "*": set = Set(Permission.allCases)
        default:
            // v2: letters in the order c, r, u, d, s, each at most once.
            var last = -1
            for ch in perms {
                guard let p = Permission(rawValue: ch), let index = Permission.allCases.firstIndex(of: p), index > last else { return nil }
                last = index
                set.insert(p)
            }
            if set.isEmpty { return nil }
        }
        self.context = context
        self.resourceType = type
        self.permissions = set
    }

    package func grants(_ type: String, _ permission: Permission) -> Bool {
        (resourceType == "*" || resourceType == type) && permissions.contains(permission)
    }
}

/// The scopes of a token, parsed once.
package struct ScopeSet: Sendable, Hashable {
    package let tokens: [String]
    package let resources: [ResourceScope]

    package init(_ text: String) {
        self.init(tokens: text.split(separator: " ").map(String.init))
    }

    package init(tokens: [String]) {
        var seen = Set<String>()
        self.tokens = tokens.filter { !$0.isEmpty && seen.insert($0).inserted }
        self.resources = self.tokens.compactMap(ResourceScope.init)
    }

    package var text: String { tokens.joined(separator: " ") }
    package func contains(_ token: String) -> Bool { tokens.contains(token) }

    /// The contexts (patient, user, system) in which the scopes grant `permission` on `type`.
    package func contexts(granting permission: Permission, on type: String) -> Set<ResourceScope.Context> {
        Set(resources.filter { $0.grants(type, permission) }.map(\.context))
    }
}

/// Who is making a request, as established from a verified access token or a web session.
package struct Principal: Sendable, Equatable {
    /// The user id (accounts) or client id (backend services).
    package var subject: String
    package var role: Role
    /// The audit agent: `Practitioner/7`, `Patient/3`, `User/<id>` (admins, auditors) or `Client/<id>`.
    package var reference: String
    /// The patient in context: the patient user's own record, or the patient chosen at launch.
    package var patient: String?
    /// The practitioner a practitioner account is linked to.
    package var practitioner: String?
    /// The OAuth client the token was issued to.
    package var clientID: String?
    package var scopes: ScopeSet
    /// Set when the request declares an emergency (break-glass) with this reason.
    package var breakGlassReason: String?

    package init(
        subject: String, role: Role, reference: String, patient: String? = nil, practitioner: String? = nil,
        clientID: String? = nil, scopes: ScopeSet, breakGlassReason: String? = nil
    ) {
        self.subject = subject
        self.role = role
        self.reference = reference
        self.patient = patient
        self.practitioner = practitioner
        self.clientID = clientID
        self.scopes = scopes
        self.breakGlassReason = breakGlassReason
    }
}
