import Audit
import FHIR
import Foundation
import SQLKit
import Storage
import Synchronization
import Telemetry

/// The probes behind `/api/status` and the gauges the alarms read: database round trip, room
/// on the data volume, audit chain verification (every `auditEvery`, it reads the whole chain),
/// resident memory. Results go to telemetry; the component results go to the uptime tallies.
package final class SystemProbes: Sendable {
    let services: HealthHubServices
    let configuration: HealthHubConfiguration
    let auditEvery: Double
    private let lastAudit = Mutex<(at: Double, ok: Bool)?>(nil)

    package init(services: HealthHubServices, configuration: HealthHubConfiguration, auditEvery: Double = 900) {
        self.services = services
        self.configuration = configuration
        self.auditEvery = auditEvery
    }

    /// Runs every probe once; returns each component's result (api, database, storage, audit).
    package func run(now: Double = Date().timeIntervalSince1970) async -> [String: Bool] {
        let telemetry = services.telemetry
        var database = true
        do {
            _ = try await services.database.read { db in try await db.raw("SELECT 1 AS one").first() }
        } catch {
            database = false
        }
        let (free, size) = Self.volume(near: configuration.dataPath)
        let ratio = free.flatMap { f in size.map { $0 > 0 ? Double(f) / Double($0) : 0 } }
        let storage = (free ?? 0) >= Readiness.minimumFreeBytes
        let audit = await auditChain(now: now)
        telemetry.set(.probeDatabase, database ? 1 : 0)
        telemetry.set(.probeStorage, storage ? 1 : 0)
        telemetry.set(.probeAudit, audit ? 1 : 0)
        telemetry.set(.diskFreeRatio, ratio)
        telemetry.set(.residentMemory, Self.residentMemory())
        return ["api": true, "database": database, "storage": storage, "audit": audit]
    }

    /// Verifies the chain at most every `auditEvery` seconds; a broken chain stays broken in
    /// telemetry until a later verification passes.
    func auditChain(now: Double) async -> Bool {
        if let last = lastAudit.withLock({ $0 }), now - last.at < auditEvery { return last.ok }
        let ok: Bool
        do {
            let file = AuditCheckpointFile(path: configuration.resolvedAuditCheckpointFile)
            if case .ok = try await AuditVerifier(store: services.fhir.store).verify(checkpoints: file) { ok = true } else { ok = false }
        } catch {
            ok = false
        }
        lastAudit.withLock { $0 = (now, ok) }
        services.telemetry.set(.auditChainOK, ok ? 1 : 0)
        return ok
    }

    static func volume(near path: String) -> (free: Int64?, size: Int64?) {
        var url = URL(fileURLWithPath: path)
        while !FileManager.default.fileExists(atPath: url.path), url.pathComponents.count > 1 { url.deleteLastPathComponent() }
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: url.path)
        return ((attributes?[.systemFreeSize] as? NSNumber)?.int64Value, (attributes?[.systemSize] as? NSNumber)?.int64Value)
    }

    /// Resident set size from `/proc/self/statm` (Linux); nil elsewhere.
    static func residentMemory() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }
}
