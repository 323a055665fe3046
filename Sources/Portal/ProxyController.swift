import Auth
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import Logging
import Mail

/// Proxy access in the pages (`ProxyStore`): a patient gives a caregiver access to their portal
/// and takes it back (`/portal/proxies`); staff do the same for a patient in their care who
/// cannot (a parent for a child: `/console/patients/{id}/proxies`); and an account that may act
/// for others chooses whose record its pages show (`/portal/switch`).
///
/// Giving access writes a `RelatedPerson` of the patient (name, relationship, email) through
/// the FHIR API under the giver's own access, then the proxy row: to the portal account of that
/// email, or to a new one invited by email (an account with no record of its own). The proxy
/// then acts for the patient as that RelatedPerson, which the audit trail names. Only the
/// patient (or staff) manage proxies; a proxy acting for someone cannot add others.
package struct ProxyController: Sendable {
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
        pages.get("portal/proxies") { r, c in try await ownRecord(r, c) { v, p in try await list(v, p, side: .patient) } }
        pages.post("portal/proxies") { r, c in try await ownRecord(r, c) { v, p in try await give(v, p, side: .patient) } }
        pages.post("portal/proxies/:proxy/revoke") { r, c in try await ownRecord(r, c) { v, p in try await revoke(v, p, side: .patient) } }
        pages.get("console/patients/:id/proxies") { r, c in try await inCare(r, c) { v, p in try await list(v, p, side: .staff) } }
        pages.post("console/patients/:id/proxies") { r, c in try await inCare(r, c) { v, p in try await give(v, p, side: .staff) } }
        pages.post("console/patients/:id/proxies/:proxy/revoke") { r, c in try await inCare(r, c) { v, p in try await revoke(v, p, side: .staff) } }
        pages.get("portal/switch") { r, c in try await kit.page(r, c, for: .patient) { try await choices($0) } }
        pages.post("portal/switch") { r, c in try await kit.page(r, c, for: .patient) { try await choose($0) } }
    }

    /// Who manages the proxies on a page: the patient, or staff for them.
    enum Side {
        case patient, staff

        func base(_ patient: String) -> String {
            switch self {
            case .patient: "/portal/proxies"
            case .staff: "/console/patients/\(patient)/proxies"
            }
        }
    }

    /// The patient's own record, not one they act for as a proxy.
    func ownRecord(_ request: Request, _ context: IdentifiedRequestContext, _ page: (PageKit.Visit, String) async throws -> Response) async throws -> Response {
        try await kit.page(request, context, for: .patient, linked: \.patient) { visit, patient in
            guard visit.principal.reference == "Patient/\(patient)" else { return try await kit.problem(visit, .forbidden, visit.t("proxies.ownOnly")) }
            return try await page(visit, patient)
        }
    }

    /// A patient in the practitioner's care (the FHIR read under their access decides).
    func inCare(_ request: Request, _ context: IdentifiedRequestContext, _ page: (PageKit.Visit, String) async throws -> Response) async throws -> Response {
        try await kit.page(request, context, for: .practitioner, linked: \.practitioner) { visit, _ in
            guard let id = visit.context.parameters.get("id"), ResourceID.isValid(id) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            return try await page(visit, id)
        }
    }

    static let doneKeys: Set<String> = ["proxies.given", "proxies.givenNoMail", "proxies.revoked", "proxies.emailed"]

    /// The relationships a page offers (HL7 v3 RoleCode), by catalogue key.
    static let relationships = ["PRN", "GUARD", "SPS", "CHILD", "SIB", "FRND"]
    static let roleCodes = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

    // MARK: The list

    func list(_ visit: PageKit.Visit, _ patient: String, side: Side, problem: String? = nil, link: String? = nil) async throws -> Response {
        try await kit.audited(visit) { record in
            record.patients = ["Patient/\(patient)"]
            let current = try await kit.service.read("Patient", patient, access: kit.access(visit))
            let name = current.content.flatMap { try? JSON.parse($0).objectValue }.map(PageKit.name) ?? ""
            let proxies = try await identity.proxies.proxies(of: patient)
            let people = try await related(visit, proxies.map(\.relatedPersonID))
            let rows: [[String: Any]] = proxies.map { p in
                let person = people[p.relatedPersonID]
                return [
                    "id": p.relatedPersonID, "name": person.map(PageKit.name) ?? p.email, "email": p.email,
                    "relationship": person.map { PageKit.text($0["relationship"]?.arrayValue?.first) } ?? "",
                    "since": kit.when(Instant.format(millis: p.createdAt), visit, time: false), "action": "\(side.base(patient))/\(p.relatedPersonID)/revoke",
                ]
            }
            var values: [String: Any] = [
                "t": visit.strings("proxies", ["lead", "staffLead", "name", "email", "relationship", "since", "revoke", "none", "give", "giveLead", "send", "link"]),
                "proxies": rows, "action": side.base(patient), "staff": side == .staff, "patientName": name,
                "relationships": Self.relationships.map { ["code": $0, "display": visit.t("proxies.rel.\($0)")] },
            ]
            if let link { values["link"] = link }
            if let problem { values["flash"] = ["text": visit.t(problem), "bad": true] } else if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
            let section = side == .patient ? "/portal/proxies" : "/console/patients"
            return try await kit.page(
                visit, title: visit.t("proxies.title"), template: "proxies", values: values, section: section, status: problem == nil ? .ok : .badRequest)
        }
    }

    /// The RelatedPersons of the proxies, read under the visitor's access, by id.
    func related(_ visit: PageKit.Visit, _ ids: [String]) async throws -> [String: JSONObject] {
        guard !ids.isEmpty else { return [:] }
        let found = PageKit.objects(try await kit.search(visit, "RelatedPerson", "_id=\(ids.joined(separator: ","))&_count=\(ProxyStore.limit)").matches)
        return Dictionary(found.map { ($0.0.id, $0.1) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Giving access

    func give(_ visit: PageKit.Visit, _ patient: String, side: Side) async throws -> Response {
        let form = try await PageForm.read(visit.request)
        let email = form["email"]?.lowercased() ?? ""
        let name = form["name"] ?? ""
        guard Mail.isAddress(email), email.count <= 254, (1...120).contains(name.count), name.contains(where: \.isLetter),
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }),
            let relationship = form["relationship"], Self.relationships.contains(relationship)
        else {
            return try await list(visit, patient, side: side, problem: "proxies.badForm")
        }
        let existing = try await identity.accounts.find(email: email)
        if let existing {
            if existing.role != .patient { return try await list(visit, patient, side: side, problem: "proxies.notPortal") }
            if existing.patientID == patient { return try await list(visit, patient, side: side, problem: "proxies.self") }
            if try await identity.proxies.proxies(of: patient).contains(where: { $0.userID == existing.id }) {
                return try await list(visit, patient, side: side, problem: "proxies.already")
            }
        }
        var invitation: String?
        let response = try await kit.audited(visit, action: .create, interaction: "proxy-grant") { record in
            record.patients = ["Patient/\(patient)"]
            let access = kit.access(visit)
            _ = try await kit.service.read("Patient", patient, access: access)
            let person: JSONObject = [
                "resourceType": "RelatedPerson", "active": true, "patient": ["reference": .string("Patient/\(patient)")],
                "relationship": [["coding": [["system": .string(Self.roleCodes), "code": .string(relationship), "display": .string(visit.t("proxies.rel.\(relationship)"))]]]],
                "name": [["text": .string(name)]], "telecom": [["system": "email", "value": .string(email)]],
            ]
            let id = ResourceID.generate()
            let resource = try kit.service.checkResource(.object(person), type: "RelatedPerson", location: "RelatedPerson")
            _ = try await kit.service.create(resource, type: "RelatedPerson", id: id, attachments: [], access: access, audit: kit.record(visit, .create, "create"))
            record.resources = ["RelatedPerson/\(id)"]
            do {
                var account = existing
                if account == nil {
                    let (user, token) = try await identity.accounts.invite(email: email, role: .patient, patientID: nil, practitionerID: nil, caregiver: true)
                    account = user
                    invitation = token
                }
                _ = try await identity.proxies.grant(user: account!, patientID: patient, relatedPersonID: id, grantedBy: visit.principal.reference)
            } catch {
                // no access without its RelatedPerson, no RelatedPerson without its access
                _ = try? await kit.service.delete("RelatedPerson", id, access: access, audit: kit.record(visit, .delete, "delete"))
                // (a refusal that raced the checks above: two tabs, the limit reached meanwhile)
                if let refused = error as? IdentityError { throw FHIRError(.conflict, code: "conflict", refused.message) }
                throw error
            }
            return PageKit.redirect(side.base(patient), done: "proxies.given")
        }
        guard response.status == .seeOther else { return response }
        return try await tell(visit, patient, side: side, email: email, invitation: invitation)
    }

    /// Emails the proxy: an invitation (a new account) or a notice that a record was shared
    /// with them, neither naming the patient. Without email, staff are shown the invitation link
    /// to hand over in person; a patient never is: whoever holds the link chooses the account's
    /// password and so receives every record later shared with that address (an outside attack
    /// pass claimed an address this way). The patient is told the same whether the address had
    /// an account or not.
    func tell(_ visit: PageKit.Visit, _ patient: String, side: Side, email: String, invitation: String?) async throws -> Response {
        let link = invitation.map { AccountMail.link(urls.issuer(visit.request), token: $0) }
        guard mail.configured else {
            if side == .patient { return PageKit.redirect(side.base(patient), done: "proxies.givenNoMail") }
            guard let link else { return PageKit.redirect(side.base(patient), done: "proxies.given") }
            return try await list(visit, patient, side: side, link: link)
        }
        // (sent in the background: the page does not wait on the mail server)
        let signIn = "\(urls.issuer(visit.request))/login"
        let logger = visit.context.logger
        Task {
            do {
                if let link { try await mail.sendInvitation(to: email, link: link) } else { try await mail.sendProxyNotice(to: email, signIn: signIn) }
            } catch {
                logger.error("could not send a proxy email", metadata: ["error": .string(String(describing: error).prefix(200).description)])
            }
        }
        return PageKit.redirect(side.base(patient), done: "proxies.emailed")
    }

    // MARK: Taking it back

    func revoke(_ visit: PageKit.Visit, _ patient: String, side: Side) async throws -> Response {
        try await kit.audited(visit, action: .execute, interaction: "proxy-revoke") { record in
            record.patients = ["Patient/\(patient)"]
            let access = kit.access(visit)
            // (the giver's access to the record decides, as for giving it)
            let current = try await kit.service.read("Patient", patient, access: access)
            guard let proxy = visit.context.parameters.get("proxy"), ResourceID.isValid(proxy),
                try await identity.proxies.revoke(patientID: current.id, relatedPersonID: proxy) != nil
            else { throw FHIRError.notFound("RelatedPerson", "-") }  // (audited as a failure; the page says "not found")
            record.resources = ["RelatedPerson/\(proxy)"]
            // The RelatedPerson stays, no longer active: the audit trail keeps naming who acted.
            if let person = try? await kit.service.read("RelatedPerson", proxy, access: access), let content = person.content,
                var object = try JSON.parse(content).objectValue
            {
                object["active"] = false
                _ = try await kit.service.update(object, type: "RelatedPerson", id: proxy, ifMatch: person.version, access: access, audit: kit.record(visit, .update, "update"))
            }
            return PageKit.redirect(side.base(patient), done: "proxies.revoked")
        }
    }

    // MARK: Whose record

    /// The records the account may show: its own and those it acts for, each named (read as
    /// the account acting for that patient).
    func choices(_ visit: PageKit.Visit) async throws -> Response {
        let session = visit.context.session
        let ids = [session?.ownRecord].compactMap { $0 } + (session?.proxyRecords ?? [])
        return try await kit.audited(visit) { record in
            record.patients = ids.map { "Patient/\($0)" }
            var rows: [[String: Any]] = []
            for id in ids {
                var principal = visit.principal
                principal.patient = id
                let access = RequestAccess(principal: principal, policy: kit.service.policy)
                let p = try await kit.service.read("Patient", id, access: access)
                rows.append([
                    "id": id, "name": p.content.flatMap { try? JSON.parse($0).objectValue }.map(PageKit.name) ?? id, "own": id == session?.ownRecord,
                    "current": id == visit.principal.patient,
                ])
            }
            return try await kit.page(
                visit, title: visit.t("switch.title"), template: "portal-switch",
                values: ["t": visit.strings("switch", ["lead", "own", "current", "show", "none"]), "records": rows], section: "")
        }
    }

    func choose(_ visit: PageKit.Visit) async throws -> Response {
        let form = try await PageForm.read(visit.request)
        let session = visit.context.session
        guard let id = form["patient"], id == session?.ownRecord || (session?.proxyRecords ?? []).contains(id),
            let cookie = SessionAuthenticator.sessionCookie(visit.request), let current = try await identity.sessions.load(cookie)
        else { return try await kit.problem(visit, .forbidden, visit.t("error.forbidden")) }
        try await identity.sessions.act(current, for: id == session?.ownRecord ? nil : id)
        return PageKit.redirect("/portal")
    }
}
