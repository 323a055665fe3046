import Alarms
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import NIOCore
import Telemetry

/// The operations API and the public status page:
/// - `GET /api/alarms`: this instance's 22 alarms with state, value and since when, plus
///   active silences (admin, auditor or backend client);
/// - `GET /api/alarms/history?rule=&limit=`: transitions, newest first, with durations;
/// - `POST /api/alarms/silences` `{"alarm": name or "*", "minutes": n, "reason": text}` and
///   `DELETE /api/alarms/silences/{id}` (signed-in admins only; recorded in the audit trail);
/// - `GET /api/status` and `GET /status`: 30-day availability per component, public, no data
///   about anyone.
struct OperationsController: Sendable {
    let operations: Operations
    let telemetry: Telemetry
    let audit: SecurityAudit
    /// Who may read operational state, and who may change it (people, not backend clients:
    /// a client's FHIR scopes say nothing about switching off the WAF).
    static let readers: Set<Role> = [.admin, .auditor, .system]
    static let operators: Set<Role> = [.admin]

    func register(on routes: RouteTable) {
        let router = routes.identified
        router.get("api/alarms") { _, context in
            try Self.require(context, Self.readers)
            let now = Now.date.timeIntervalSince1970
            let silences = try await operations.coordinator.store.silences(activeAfter: now)
            return try Self.json(AlarmsBody(instance: operations.coordinator.store.instance, alarms: operations.coordinator.engine.statuses(), silences: silences))
        }
        router.get("api/alarms/history") { request, context in
            try Self.require(context, Self.readers)
            let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 100
            let rule = request.uri.queryParameters["rule"].map(String.init)
            return try Self.json(["history": try await operations.coordinator.store.history(limit: limit, rule: rule)])
        }
        router.post("api/alarms/silences") { request, context in
            var request = request
            try Self.require(context, Self.operators)
            let body = try await request.collectBody(upTo: 16 * 1024)
            guard let input = try? JSONDecoder().decode(SilenceInput.self, from: Data(body.readableBytesView)) else {
                throw Self.problem(.badRequest, "Expected {\"alarm\": name or \"*\", \"minutes\": 1-10080, \"reason\": text}", context)
            }
            let silence: AlarmStore.Silence
            do {
                silence = try await operations.coordinator.store.silence(input.alarm, minutes: input.minutes, reason: input.reason, createdBy: context.principal.reference)
            } catch let problem as AlarmStore.SilenceProblem {
                throw Self.problem(.badRequest, problem.description, context)
            }
            await audit.operation("alarm-silence", context, success: true, code: input.alarm)
            return try Self.json(silence, status: .created)
        }
        router.delete("api/alarms/silences/:id") { _, context in
            try Self.require(context, Self.operators)
            let id = context.parameters.get("id") ?? ""
            guard try await operations.coordinator.store.expireSilence(id: id, at: Now.date.timeIntervalSince1970) else {
                throw Self.problem(.notFound, "No such silence", context)
            }
            await audit.operation("alarm-unsilence", context, success: true)
            return Response(status: .noContent)
        }
        routes.publicRoutes.get("api/status") { _, _ in try Self.json(try await status()) }
        routes.publicRoutes.get("status") { _, _ in HTMLPage.response("Service status", StatusPage.render(try await status())) }
    }

    struct AlarmsBody: Encodable {
        let instance: String
        let alarms: [AlarmStatus]
        let silences: [AlarmStore.Silence]
    }

    struct SilenceInput: Decodable {
        let alarm: String
        let minutes: Int
        let reason: String
    }

    func status() async throws -> StatusBody {
        let now = Now.date.timeIntervalSince1970
        let current = telemetry.snapshot()
        let signals: [String: Signal] = ["database": .probeDatabase, "storage": .probeStorage, "audit": .probeAudit]
        let components = try await operations.uptime.availability(days: 30, now: now).map { a in
            let up: Bool? = a.component == "api" ? true : signals[a.component].flatMap { current[$0] }.map { $0 >= 1 }
            return StatusBody.Component(
                name: a.component, status: up.map { $0 ? "up" : "down" } ?? "unknown",
                availability30d: a.availability, probes: a.probes)
        }
        let overall = components.contains { $0.status == "down" } ? "degraded" : "operational"
        return StatusBody(status: overall, components: components, generatedAt: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now)))
    }

    static func require(_ context: IdentifiedRequestContext, _ roles: Set<Role>) throws {
        guard roles.contains(context.principal.role) else {
            throw problem(.forbidden, "This API needs one of the roles: \(roles.map(\.rawValue).sorted().joined(separator: ", "))", context)
        }
    }

    /// An RFC 9457 problem of the operations API.
    static func problem(_ status: HTTPResponse.Status, _ message: String, _ context: some GatewayRequestContext) -> Refusal {
        Refusal(status, code: status == .forbidden ? "forbidden" : status == .notFound ? "not_found" : "invalid", message, surface: .api, requestID: context.requestID)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        .json(try JSON(encoding: value), status: status)
    }
}
