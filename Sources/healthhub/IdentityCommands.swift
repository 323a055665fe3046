import ArgumentParser
import Audit
import Auth
import FHIR
import Foundation
import Identity
import Kernel
import ServerApp
import Storage

/// Opens the services for an administrative command (applying pending migrations, so a fresh
/// database can get its first admin before the first `serve`), runs `body`, and closes them.
func withServices<T>(_ common: DatabaseOptions, _ body: (HealthHubServices) async throws -> T) async throws -> T {
    let config = try common.configuration(try common.settings())
    let logger = Logs.bootstrap(config)
    let services = try await HealthHubServices.open(
        database: config.database, masterKey: config.masterKey, masterKeyFile: config.resolvedMasterKeyFile, migrate: true, logger: logger)
    do {
        let result = try await body(services)
        await services.shutdown()
        return result
    } catch {
        await services.shutdown()
        throw error
    }
}

/// Administrative actions are audited like any other event, with the command line as agent.
func auditAdmin(_ services: HealthHubServices, _ interaction: String, resources: [String] = []) async throws {
    try await services.audit.appendSoon([AuditRecord(action: .execute, interaction: interaction, agent: "healthhub-cli", agentRole: "admin", resources: resources)])
}

/// `Patient/123` or `123` -> `123`, checked to exist.
func linkedID(_ text: String, type: String, _ services: HealthHubServices) async throws -> String {
    let id = text.hasPrefix("\(type)/") ? String(text.dropFirst(type.count + 1)) : text
    guard ResourceID.isValid(id), try await services.fhir.exists(type, id) else {
        throw ValidationError("\(type)/\(id.prefix(64)) does not exist; create it first (a user links to an existing record)")
    }
    return id
}

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage accounts.",
        subcommands: [Create.self, Invite.self, List.self, Disable.self, Enable.self, ResetMFA.self, EnrolmentCode.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account. Without --password-stdin a strong password is generated and printed once.")
        @OptionGroup var common: DatabaseOptions
        @Option(help: "patient, practitioner, admin or auditor.") var role: String
        @Option(help: "Sign-in email.") var email: String
        @Option(help: "The Patient record of a patient account (Patient/ID).") var patient: String?
        @Option(help: "The Practitioner record of a practitioner account (Practitioner/ID).") var practitioner: String?
        @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false

        func run() async throws {
            guard let role = Role(rawValue: role), role != .system else { throw ValidationError("--role must be patient, practitioner, admin or auditor") }
            var generated: String?
            let password: String
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else { throw ValidationError("No password on standard input") }
                password = line
            } else {
                password = Secrets.token(bytes: 15)
                generated = password
            }
            try await withServices(common) { services in
                let patientID = try await patient.asyncMap { try await linkedID($0, type: "Patient", services) }
                let practitionerID = try await practitioner.asyncMap { try await linkedID($0, type: "Practitioner", services) }
                let user: User
                do {
                    user = try await services.identity.accounts.create(email: email, role: role, password: password, patientID: patientID, practitionerID: practitionerID)
                } catch let e as IdentityError {
                    throw ValidationError(e.message)
                }
                try await auditAdmin(services, "user-create", resources: [user.reference])
                print("Created \(role.rawValue) account \(user.email) (id \(user.id))")
                if let generated { print("Password (shown once): \(generated)") }
                if user.mfaRequired {
                    let code = try await services.identity.accounts.issueEnrolmentCode(userID: user.id)
                    print("Enrolment code for the first authenticator (shown once, valid 7 days; hand it over apart from the password): \(code)")
                }
                if user.mfaRequired { print("Two-factor sign-in is mandatory for this role; it is set up at the first sign-in.") }
            }
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account with an invitation link (7 days) that sets its password; the link is printed once, for you to hand over.")
        @OptionGroup var common: DatabaseOptions
        @Option(help: "patient, practitioner, admin or auditor.") var role: String
        @Option(help: "Sign-in email.") var email: String
        @Option(help: "The Patient record of a patient account (Patient/ID).") var patient: String?
        @Option(help: "The Practitioner record of a practitioner account (Practitioner/ID).") var practitioner: String?
        @Option(help: "The server's address as its users reach it.") var url = "http://127.0.0.1:8080"

        func run() async throws {
            guard let role = Role(rawValue: role), role != .system else { throw ValidationError("--role must be patient, practitioner, admin or auditor") }
            try await withServices(common) { services in
                let patientID = try await patient.asyncMap { try await linkedID($0, type: "Patient", services) }
                let practitionerID = try await practitioner.asyncMap { try await linkedID($0, type: "Practitioner", services) }
                let (user, token): (User, String)
                do {
                    (user, token) = try await services.identity.accounts.invite(email: email, role: role, patientID: patientID, practitionerID: practitionerID)
                } catch let e as IdentityError {
                    throw ValidationError(e.message)
                }
                try await auditAdmin(services, "user-create", resources: [user.reference])
                print("Invited \(role.rawValue) account \(user.email) (id \(user.id))")
                print("Invitation link (shown once, valid 7 days): \(AccountMail.link(url.hasSuffix("/") ? String(url.dropLast()) : url, token: token))")
                if user.mfaRequired {
                    let code = try await services.identity.accounts.issueEnrolmentCode(userID: user.id)
                    print("Enrolment code for the first authenticator (shown once, valid 7 days; hand it over apart from the link): \(code)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var common: DatabaseOptions
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            try await withServices(common) { services in
                let now = Secrets.nowMillis()
                let invited = try await services.identity.accounts.invited()
                for u in try await services.identity.accounts.list() {
                    let status = u.disabled ? "disabled" : invited.contains(u.id) ? "invited" : u.lockedUntil > now ? "locked" : "active"
                    let link = u.linkText ?? "-"
                    if json {
                        let o: JSON = [
                            "email": .string(u.email), "id": .string(u.id), "link": .string(link), "mfa": .bool(u.mfaEnrolled), "role": .string(u.role.rawValue),
                            "status": .string(status),
                        ]
                        print(o.serializedString())
                    } else {
                        print([u.email, u.role.rawValue, link, status, u.mfaEnrolled ? "mfa" : "no-mfa"].joined(separator: "\t"))
                    }
                }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account and end its sessions.")
        @OptionGroup var common: DatabaseOptions
        @Argument(help: "The account's email.") var email: String
        func run() async throws {
            try await UsersCommand.changeAccount(common, "user-disable", "Disabled") { try await $0.setDisabled(email: email, true) }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable an account (also lifts a lockout).")
        @OptionGroup var common: DatabaseOptions
        @Argument(help: "The account's email.") var email: String
        func run() async throws {
            try await UsersCommand.changeAccount(common, "user-enable", "Enabled") { try await $0.setDisabled(email: email, false) }
        }
    }

    struct EnrolmentCode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enrolment-code",
            abstract: "Issue a one-time code with which a staff account sets up its authenticator (replaces an earlier one).")
        @OptionGroup var common: DatabaseOptions
        @Argument(help: "The account's email.") var email: String
        func run() async throws {
            try await withServices(common) { services in
                do {
                    guard let user = try await services.identity.accounts.find(email: email) else { throw IdentityError.notFound("No account has that email") }
                    guard !user.mfaEnrolled else { throw IdentityError.rejected("\(user.email) already has an authenticator; reset-mfa first") }
                    let code = try await services.identity.accounts.issueEnrolmentCode(userID: user.id)
                    try await auditAdmin(services, "user-enrolment-code", resources: [user.reference])
                    print("Enrolment code for \(user.email) (shown once, valid 7 days): \(code)")
                } catch let e as IdentityError { throw ValidationError(e.message) }
            }
        }
    }

    struct ResetMFA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-mfa", abstract: "Remove an account's authenticator and recovery codes; it enrols again at the next sign-in.")
        @OptionGroup var common: DatabaseOptions
        @Argument(help: "The account's email.") var email: String
        func run() async throws {
            try await UsersCommand.changeAccount(common, "user-reset-mfa", "Reset two-factor sign-in of") { try await $0.resetMFA(email: email) }
        }
    }

    /// One change to an account: done, audited, reported.
    static func changeAccount(
        _ common: DatabaseOptions, _ interaction: String, _ done: String,
        _ change: (AccountStore) async throws -> User
    ) async throws {
        try await withServices(common) { services in
            do {
                let user = try await change(services.identity.accounts)
                try await auditAdmin(services, interaction, resources: [user.reference])
                print("\(done) \(user.email)")
            } catch let e as IdentityError { throw ValidationError(e.message) }
        }
    }
}

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "Manage OAuth clients (SMART apps and backend services).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Register a client. Without --redirect-uri it is a backend service (client credentials); with one, a SMART app (confidential, or public with --public). The secret is printed once."
        )
        @OptionGroup var common: DatabaseOptions
        @Option(help: "Display name.") var name: String
        @Option(help: "Space-separated scopes, e.g. \"system/*.rs\" or \"openid fhirUser launch/patient patient/*.rs offline_access\".") var scopes: String
        @Option(name: .customLong("redirect-uri"), help: "Redirect URI of a SMART app (repeatable).") var redirectURIs: [String] = []
        @Flag(name: .customLong("public"), help: "A public SMART app (PKCE only, no secret).") var isPublic = false
        @Option(help: "JWK Set file of the client's public keys: it then authenticates with private_key_jwt and gets no secret.") var jwksFile: String?
        @Flag(help: "Print {\"client_id\": ..., \"client_secret\": ...}.") var json = false

        func run() async throws {
            let jwks = try jwksFile.map { path -> String in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("Cannot read \(path)") }
                return text
            }
            try await withServices(common) { services in
                let (client, secret): (OAuthClient, String?)
                do {
                    (client, secret) = try await services.identity.clients.create(name: name, scopes: scopes, redirectURIs: redirectURIs, isPublic: isPublic, jwks: jwks)
                } catch let e as IdentityError { throw ValidationError(e.message) }
                try await auditAdmin(services, "client-create", resources: [])
                if json {
                    print(JSON.object(["client_id": .string(client.id), "client_secret": secret.map(JSON.string) ?? .null]).serializedString())
                } else {
                    print("client_id: \(client.id)")
                    if let secret { print("client_secret (shown once): \(secret)") }
                    print("kind: \(client.kind.rawValue); scopes: \(client.scopes.text)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients.")
        @OptionGroup var common: DatabaseOptions
        func run() async throws {
            try await withServices(common) { services in
                for c in try await services.identity.clients.list() {
                    let created = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(c.createdAt) / 1000))
                    print([c.id, c.name, c.kind.rawValue, c.revoked ? "revoked" : "active", created, c.scopes.text, c.redirectURIs.joined(separator: ",")].joined(separator: "\t"))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a client and its refresh tokens (its access tokens expire within minutes).")
        @OptionGroup var common: DatabaseOptions
        @Argument(help: "The client id.") var clientID: String
        func run() async throws {
            try await withServices(common) { services in
                do {
                    let c = try await services.identity.clients.revoke(clientID)
                    try await auditAdmin(services, "client-revoke")
                    print("Revoked \(c.id) (\(c.name))")
                } catch let e as IdentityError { throw ValidationError(e.message) }
            }
        }
    }
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage token signing keys.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a new ES256 signing key current. The previous key stays in the JWKS so its tokens verify until they expire; older keys retire. Running servers pick the new key up within a minute (as they verify tokens)."
        )
        @OptionGroup var common: DatabaseOptions
        func run() async throws {
            try await withServices(common) { services in
                let kid = try await SigningKeys.rotate(database: services.database, keyring: services.keyring)
                try await auditAdmin(services, "keys-rotate")
                print("New signing key: \(kid)")
            }
        }
    }
}

struct CareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "care", abstract: "Explicit care relationships (besides CareTeam and Encounter participation) that let a practitioner see a patient.",
        subcommands: [Assign.self, Unassign.self])

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a practitioner see a patient's record.")
        @OptionGroup var common: DatabaseOptions
        @Option(help: "Practitioner/ID") var practitioner: String
        @Option(help: "Patient/ID") var patient: String
        func run() async throws {
            try await withServices(common) { services in
                let pr = try await linkedID(practitioner, type: "Practitioner", services)
                let pa = try await linkedID(patient, type: "Patient", services)
                try await services.database.transaction { tx in try await AccessPolicy.assign(practitioner: pr, patient: pa, in: tx) }
                try await auditAdmin(services, "care-assign", resources: ["Practitioner/\(pr)", "Patient/\(pa)"])
                print("Practitioner/\(pr) now cares for Patient/\(pa)")
            }
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an explicit care relationship.")
        @OptionGroup var common: DatabaseOptions
        @Option(help: "Practitioner/ID") var practitioner: String
        @Option(help: "Patient/ID") var patient: String
        func run() async throws {
            try await withServices(common) { services in
                let pr = practitioner.replacingOccurrences(of: "Practitioner/", with: "")
                let pa = patient.replacingOccurrences(of: "Patient/", with: "")
                try await services.database.transaction { tx in try await AccessPolicy.unassign(practitioner: pr, patient: pa, in: tx) }
                try await auditAdmin(services, "care-unassign", resources: ["Practitioner/\(pr)", "Patient/\(pa)"])
                print("Removed the assignment of Patient/\(pa) to Practitioner/\(pr)")
            }
        }
    }
}

extension Optional {
    func asyncMap<T>(_ body: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await body(self)
    }
}
