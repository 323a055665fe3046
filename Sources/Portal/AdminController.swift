import Auth
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import Logging

/// The admin console at `/admin`: accounts (an invitation by email, whose link sets the
/// password, and for staff an enrolment code shown once; disable, enable, reset two-factor, a
/// new enrolment code, a new invitation) and
/// OAuth clients (register, with the secret shown once; revoke): what `healthhub users` and
/// `healthhub clients` do, for admins only. Every change is audited with the admin as agent.
package struct AdminController: Sendable {
    let kit: PageKit
    let identity: IdentityServices
    let mail: AccountMail
    let urls: ServerURLs

    package init(kit: PageKit, identity: IdentityServices, mail: AccountMail, urls: ServerURLs) {
        self.kit = kit
        self.identity = identity
        self.mail = mail
        self.urls = urls
    }

    package func register(on routes: RouteTable) {
        let pages = routes.signedIn
        pages.get("admin") { r, c in try await kit.page(r, c, for: .admin) { try await users($0) } }
        pages.post("admin/users") { r, c in try await kit.page(r, c, for: .admin) { try await createUser($0) } }
        for action in ["disable", "enable", "reset-mfa", "enrolment-code", "invite"] {
            pages.post(RouterPath("admin/users/:id/\(action)")) { r, c in try await kit.page(r, c, for: .admin) { try await changeUser($0, action) } }
        }
        pages.get("admin/clients") { r, c in try await kit.page(r, c, for: .admin) { try await clients($0) } }
        pages.post("admin/clients") { r, c in try await kit.page(r, c, for: .admin) { try await createClient($0) } }
        pages.post("admin/clients/:id/revoke") { r, c in try await kit.page(r, c, for: .admin) { try await revokeClient($0) } }
    }

    static let doneKeys: Set<String> = ["admin.changed", "clients.changed"]

    /// An admin's change, audited like the CLI's (interaction `user-create`, ...), with the admin as agent.
    func audited(_ visit: PageKit.Visit, _ interaction: String, _ body: (inout AuditRecord) async throws -> Response) async throws -> Response {
        do {
            return try await kit.service.audited(kit.record(visit, .execute, interaction), body)
        } catch let error as IdentityError {
            return try await kit.problem(visit, .badRequest, error.message)
        }
    }

    func strings(_ visit: PageKit.Visit) -> [String: String] {
        visit.strings(
            "admin",
            ["email", "role", "link", "status", "mfa", "actions", "create", "linkHelp", "submit", "shownLead", "back", "sent", "notSent"])
    }

    // MARK: Users

    func users(_ visit: PageKit.Visit) async throws -> Response {
        let now = Secrets.nowMillis()
        let invited = try await identity.accounts.invited()
        let rows: [[String: Any]] = try await identity.accounts.list().map { u in
            let status = u.disabled ? "disabled" : invited.contains(u.id) ? "invited" : u.lockedUntil > now ? "locked" : "active"
            var forms: [[String: String]] = [u.disabled ? ["action": "enable", "label": visit.t("admin.enable")] : ["action": "disable", "label": visit.t("admin.disable")]]
            if invited.contains(u.id) && !u.disabled { forms.append(["action": "invite", "label": visit.t("admin.reinvite")]) }
            if u.mfaEnrolled { forms.append(["action": "reset-mfa", "label": visit.t("admin.resetMFA")]) }
            if u.mfaRequired && !u.mfaEnrolled { forms.append(["action": "enrolment-code", "label": visit.t("admin.enrolmentCode")]) }
            return [
                "id": u.id, "email": u.email, "role": u.role.rawValue, "link": u.linkText ?? "—",
                "status": visit.t("admin.\(status)"), "mfa": visit.t(u.mfaEnrolled ? "admin.yes" : "admin.no"), "forms": forms,
            ]
        }
        var values: [String: Any] = ["t": strings(visit), "users": rows, "roles": [Role.patient, .practitioner, .admin, .auditor].map(\.rawValue)]
        if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
        return try await kit.page(visit, title: visit.t("admin.users"), template: "admin-users", values: values, section: "/admin")
    }

    func createUser(_ visit: PageKit.Visit) async throws -> Response {
        try await audited(visit, "user-create") { record in
            let form = try await PageForm.read(visit.request)
            guard let email = form["email"], let role = form["role"].flatMap(Role.init(rawValue:)), role != .system else {
                return try await kit.problem(visit, .badRequest, visit.t("error.title"))
            }
            let link = form["link"]
            var patientID: String?
            var practitionerID: String?
            switch role {
            case .patient: patientID = try await linked(link, "Patient")
            case .practitioner: practitionerID = try await linked(link, "Practitioner")
            default: break
            }
            let (user, token) = try await identity.accounts.invite(email: email, role: role, patientID: patientID, practitionerID: practitionerID)
            record.resources = [user.reference]
            return try await invitationSent(visit, user, token: token, enrolmentCode: user.mfaRequired)
        }
    }

    /// Sends the invitation; the page shows what the admin must hand over: the link too when no
    /// email went out, and a staff account's enrolment code (never by the same way as the link).
    func invitationSent(_ visit: PageKit.Visit, _ user: User, token: String, enrolmentCode: Bool) async throws -> Response {
        let link = AccountMail.link(urls.issuer(visit.request), token: token)
        var sent = false
        if mail.configured {
            do {
                try await mail.sendInvitation(to: user.email, link: link)
                sent = true
            } catch {
                visit.context.logger.error("could not send an invitation email", metadata: ["error": .string(String(describing: error).prefix(200).description)])
            }
        }
        var items: [[String: String]] = sent ? [] : [["label": visit.t("admin.invitation"), "value": link]]
        if enrolmentCode { items.append(["label": visit.t("admin.code"), "value": try await identity.accounts.issueEnrolmentCode(userID: user.id)]) }
        return try await kit.page(
            visit, title: visit.t(sent && items.isEmpty ? "admin.create" : "admin.shown"), template: "admin-shown",
            values: ["t": strings(visit), "items": items, "back": "/admin", "sent": sent, "notSent": !sent], section: "/admin")
    }

    /// `Patient/123` or `123`, of a record that exists (an account links to an existing record).
    func linked(_ text: String?, _ type: String) async throws -> String {
        let id = (text ?? "").hasPrefix("\(type)/") ? String((text ?? "").dropFirst(type.count + 1)) : text ?? ""
        guard ResourceID.isValid(id), try await kit.service.exists(type, id) else {
            throw IdentityError.rejected("\(type)/\(id.prefix(64)) does not exist; an account links to an existing \(type) record")
        }
        return id
    }

    func changeUser(_ visit: PageKit.Visit, _ action: String) async throws -> Response {
        try await audited(visit, "user-\(action)") { record in
            guard let id = visit.context.parameters.get("id"), let user = try await identity.accounts.find(id: id) else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            record.resources = [user.reference]
            switch action {
            case "disable": _ = try await identity.accounts.setDisabled(email: user.email, true)
            case "enable": _ = try await identity.accounts.setDisabled(email: user.email, false)
            case "reset-mfa": _ = try await identity.accounts.resetMFA(email: user.email)
            case "invite":
                guard !user.disabled, try await identity.accounts.invited().contains(user.id) else { return try await kit.problem(visit, .conflict, visit.t("error.title")) }
                let token = try await identity.accounts.issueLink(.invitation, userID: user.id)
                return try await invitationSent(visit, user, token: token, enrolmentCode: user.mfaRequired && !user.mfaEnrolled)
            default:
                guard user.mfaRequired, !user.mfaEnrolled else { return try await kit.problem(visit, .conflict, visit.t("error.title")) }
                let code = try await identity.accounts.issueEnrolmentCode(userID: user.id)
                let items = [["label": visit.t("admin.email"), "value": user.email], ["label": visit.t("admin.code"), "value": code]]
                return try await kit.page(
                    visit, title: visit.t("admin.shown"), template: "admin-shown", values: ["t": strings(visit), "items": items, "back": "/admin"], section: "/admin")
            }
            return PageKit.redirect("/admin", done: "admin.changed")
        }
    }

    // MARK: Clients

    func clients(_ visit: PageKit.Visit) async throws -> Response {
        let rows: [[String: Any]] = try await identity.clients.list().map { c in
            [
                "id": c.id, "name": c.name, "kind": c.kind.rawValue, "scopes": c.scopes.text, "revoked": c.revoked,
                "status": visit.t(c.revoked ? "clients.revoked" : "admin.active"),
            ]
        }
        var values: [String: Any] = [
            "t": visit.strings("clients", ["name", "id", "kind", "scopes", "redirect", "public", "register", "revoke"])
                .merging(["status": visit.t("admin.status"), "actions": visit.t("admin.actions")], uniquingKeysWith: { a, _ in a }),
            "clients": rows,
        ]
        if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
        return try await kit.page(visit, title: visit.t("clients.title"), template: "admin-clients", values: values, section: "/admin/clients")
    }

    func createClient(_ visit: PageKit.Visit) async throws -> Response {
        try await audited(visit, "client-create") { record in
            let form = try await PageForm.read(visit.request)
            guard let name = form["name"], let scopes = form["scopes"] else { return try await kit.problem(visit, .badRequest, visit.t("error.title")) }
            let redirects = (form["redirect"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            // SMART apps only: they act for the person who signs in, within that person's access.
            // A backend service's system/ scopes reach every record and the audit trail, more
            // than an admin may see, so registering one stays with the server's operator (CLI).
            guard !redirects.isEmpty, !ScopeSet(scopes).tokens.contains(where: { $0.hasPrefix("system/") }) else {
                return try await kit.problem(visit, .forbidden, visit.t("clients.noBackend"))
            }
            let (client, secret) = try await identity.clients.create(name: name, scopes: scopes, redirectURIs: redirects, isPublic: form["public"] == "1", jwks: nil)
            record.resources = ["Client/\(client.id)"]
            var items = [["label": visit.t("clients.id"), "value": client.id]]
            if let secret { items.append(["label": visit.t("clients.secret"), "value": secret]) }
            return try await kit.page(
                visit, title: visit.t("admin.shown"), template: "admin-shown", values: ["t": strings(visit), "items": items, "back": "/admin/clients"], section: "/admin/clients")
        }
    }

    func revokeClient(_ visit: PageKit.Visit) async throws -> Response {
        try await audited(visit, "client-revoke") { record in
            guard let id = visit.context.parameters.get("id") else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            let client = try await identity.clients.revoke(id)
            record.resources = ["Client/\(client.id)"]
            return PageKit.redirect("/admin/clients", done: "clients.changed")
        }
    }
}
