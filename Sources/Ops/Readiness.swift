import Foundation
import Gateway
import Hummingbird
import Kernel
import NIOCore
import SQLKit
import Storage

/// `GET /ready`: 200 when the database answers, every migration is applied and the data
/// volume has room; 503 naming the failed check otherwise; the state of each AI engine beside (for load balancers and orchestrators;
/// `/health` only says the process is alive).
struct Readiness: Sendable {
    let database: any Database
    let migrations: MigrationRunner
    let dataPath: String
    /// Lines about optional parts (the AI engines) shown under `engines`; they never make an
    /// instance unready, so a missing optional engine does not take it out of a load balancer.
    let engines: @Sendable () async -> [(capability: String, detail: String)]
    /// Below this much free space on the data volume the instance stops taking traffic.
    static let minimumFreeBytes: Int64 = 256 * 1024 * 1024

    func checks() async -> [(String, Bool, String)] {
        var out: [(String, Bool, String)] = []
        do {
            _ = try await database.read { db in try await db.raw("SELECT 1 AS one").first() }
            out.append(("database", true, "reachable"))
        } catch {
            out.append(("database", false, "unreachable"))
        }
        do {
            let pending = try await migrations.pending(database)
            out.append(("migrations", pending.isEmpty, pending.isEmpty ? "all applied" : "\(pending.count) pending"))
        } catch {
            out.append(("migrations", false, "unknown"))
        }
        let free = SystemProbes.volume(near: dataPath).free
        out.append(("disk", (free ?? 0) >= Self.minimumFreeBytes, free.map { "\($0 / 1_048_576) MB free" } ?? "unknown"))
        return out
    }

    func response() async -> Response {
        let results = await checks()
        let ready = results.allSatisfy(\.1)
        let checks = JSONObject(results.sorted { $0.0 < $1.0 }.map { ($0.0, ["ok": .bool($0.1), "detail": .string($0.2)]) })
        let engines = JSONObject(await engines().map { ($0.capability, .string($0.detail)) })
        return .json(
            ["checks": .object(checks), "engines": .object(engines), "status": ready ? "ready" : "not-ready"], status: ready ? .ok : .serviceUnavailable)
    }
}
