import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Kernel
import Logging
import NIOCore
import Ops
import ServerApp
import Storage
import TestSupport

/// A HealthHub application on a fresh database, driven in-process.
struct TestServer {
    let client: any TestClientProtocol
    let services: HealthHubServices
    let operations: Operations
    /// A backend-service token with `system/*.cruds`: what most tests act as.
    let systemToken: String
    /// Every route of the application, as its router registered them.
    let routes: [RouteTable.Entry]

    /// What the in-process client's requests derive as issuer and FHIR base (no Host header).
    static let issuer = "http://localhost"
    static let fhirBase = "http://localhost/fhir"

    /// Who sends a request.
    enum Caller {
        case system
        case anonymous
        case bearer(String)
    }

    /// `live`: over a real socket on loopback (the peer address is 127.0.0.1), instead of in-process;
    /// with TLS configured always over HTTPS.
    static func run(
        _ kind: TestDatabaseKind, logger: Logger = TestDatabases.logger, configuration: HealthHubConfiguration = HealthHubConfiguration(),
        live: Bool = false, _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        let url = try await TestDatabases.freshURL(kind, migrations: HealthHubServices.migrations)
        // The configuration names the same database (its checkpoint file and data volume follow it).
        var configuration = configuration
        configuration.database = url
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let services = try await HealthHubServices.open(
            database: url, masterKey: key, masterKeyFile: "/nonexistent", migrate: true, logger: logger, scheduling: configuration.scheduling, ai: configuration.ai)
        let operations = try await Operations.open(services: services, configuration: configuration)
        let (router, table) = buildRouter(services: services, operations: operations, configuration: configuration)
        let routes = table.entries
        let app = try buildApplication(router: router, services: services, operations: operations, configuration: configuration)
        do {
            let token = try await Self.systemToken(services)
            try await app.test(configuration.ops.tls != nil ? .ahc(.https) : live ? .live : .router) { client in
                try await body(TestServer(client: client, services: services, operations: operations, systemToken: token, routes: routes))
            }
        } catch {
            await services.shutdown()
            TestDatabases.discard(url)
            throw error
        }
        await services.shutdown()
        TestDatabases.discard(url)
    }

    static func systemToken(_ services: HealthHubServices) async throws -> String {
        let (client, _) = try await services.identity.clients.create(name: "tests", scopes: "system/*.cruds", redirectURIs: [], isPublic: false, jwks: nil)
        return try services.identity.tokens.issue(
            .init(subject: client.id, role: .system, scope: client.scopes, clientID: client.id, patient: nil, fhirUser: nil, family: nil),
            issuer: issuer, fhirBase: fhirBase
        ).token
    }

    /// A token for a user account, as the token endpoint would issue it.
    func token(for user: User, scope: String, patient: String? = nil) throws -> String {
        try services.identity.tokens.issue(
            .init(
                subject: user.id, role: user.role, scope: ScopeSet(scope), clientID: "test-app",
                patient: user.role == .patient ? user.patientID : patient,
                fhirUser: user.role == .patient || user.role == .practitioner ? user.reference : nil, family: nil),
            issuer: Self.issuer, fhirBase: Self.fhirBase
        ).token
    }

    struct Reply {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: JSON?
        let text: String
        /// The body as sent (for bodies that are not text).
        let bytes: [UInt8]
        var code: Int { status.code }
        subscript(_ key: String) -> JSON? { body?[key] }
        /// Issue codes of an OperationOutcome body.
        var issueCodes: [String] { body?["issue"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? [] }
        var issueExpressions: [String] { body?["issue"]?.arrayValue?.flatMap { $0["expression"]?.arrayValue?.compactMap(\.stringValue) ?? [] } ?? [] }
        var entries: [JSON] { body?["entry"]?.arrayValue ?? [] }
        var total: Int? { body?["total"]?.numberText.flatMap { Int($0) } }
        var id: String? { body?["id"]?.stringValue }
    }

    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, json: JSON? = nil, body: String? = nil, bytes: [UInt8]? = nil, headers: HTTPFields = [:], as caller: Caller = .system
    ) async throws -> Reply {
        var headers = headers
        switch caller {
        case .system: headers[.authorization] = "Bearer \(systemToken)"
        case .anonymous: break
        case .bearer(let token): headers[.authorization] = "Bearer \(token)"
        }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: json.serialized())
            if headers[.contentType] == nil { headers[.contentType] = "application/fhir+json" }
        } else if let body {
            buffer = ByteBuffer(string: body)
        } else if let bytes {
            buffer = ByteBuffer(bytes: bytes)
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: buffer) { response in
            let text = String(buffer: response.body)
            return Reply(
                status: response.status, headers: response.headers, body: text.isEmpty ? nil : try? JSON.parse(text), text: text, bytes: Array(response.body.readableBytesView))
        }
    }

    func get(_ path: String, headers: HTTPFields = [:], as caller: Caller = .system) async throws -> Reply { try await request(.get, path, headers: headers, as: caller) }

    @discardableResult
    func post(_ path: String, _ json: JSON, headers: HTTPFields = [:], as caller: Caller = .system) async throws -> Reply {
        try await request(.post, path, json: json, headers: headers, as: caller)
    }

    @discardableResult
    func put(_ path: String, _ json: JSON, headers: HTTPFields = [:], as caller: Caller = .system) async throws -> Reply {
        try await request(.put, path, json: json, headers: headers, as: caller)
    }

    /// Creates a resource and returns its id.
    func create(_ json: JSON) async throws -> String {
        let type = json["resourceType"]!.stringValue!
        let reply = try await post("/fhir/\(type)", json)
        guard reply.code == 201, let id = reply.id else { throw TestDatabaseError(description: "create \(type) failed: \(reply.code) \(reply.text)") }
        return id
    }

    /// Ids in a searchset (match entries only).
    func searchIDs(_ query: String) async throws -> [String] {
        let reply = try await get("/fhir/\(query)")
        guard reply.code == 200 else { throw TestDatabaseError(description: "search \(query) failed: \(reply.code) \(reply.text)") }
        return reply.entries.filter { $0["search"]?["mode"]?.stringValue == "match" }.compactMap { $0["resource"]?["id"]?.stringValue }
    }
}

/// JSON literal helper: `j(["resourceType": "Patient", ...])` keeping key order.
func j(_ text: String) -> JSON { try! JSON.parse(text) }
