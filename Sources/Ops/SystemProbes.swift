import Audit
import Foundation
import Kernel
import Logging
import SQLKit
import Storage
import Synchronization
import Telemetry

/// The probes behind `/api/status` and the gauges the alarms read: database round trip (with a
/// timeout: a hung pool counts as down), room on the data volume, resident memory, and the
/// audit chain. Verifying the chain reads all of it, so it runs in its own task at most every
/// `auditEvery` seconds and the probe reports its last result; a verification that could not
/// run (database unreachable) is "no data", never "broken". Results go to telemetry; the
/// component results go to the uptime tallies.
package final class SystemProbes: Sendable {
    let database: any Database
    let trail: AuditTrail
    let telemetry: Telemetry
    let dataPath: String
    let checkpointFile: String?
    let auditEvery: Double
    private let audit = Mutex<(started: Double, running: Bool, ok: Bool?, failed: Bool)>((-Double.infinity, false, nil, false))
    /// A verification that could not run is tried again this soon rather than after `auditEvery`.
    static let retryAfterFailure: Double = 5
    let logger: Logger

    package init(
        database: any Database, trail: AuditTrail, telemetry: Telemetry, dataPath: String, checkpointFile: String?, logger: Logger,
        auditEvery: Double = 900
    ) {
        self.logger = logger
        self.database = database
        self.trail = trail
        self.telemetry = telemetry
        self.dataPath = dataPath
        self.checkpointFile = checkpointFile
        self.auditEvery = auditEvery
    }

    /// Runs every probe once; returns each component's result (api, database, storage, and
    /// audit once a verification has finished).
    package func run(now: Double = Now.date.timeIntervalSince1970, timeout: Duration = .seconds(10)) async -> [String: Bool] {
        let database = await databaseAnswers(within: timeout)
        let (free, size) = Self.volume(near: dataPath)
        let ratio = free.flatMap { f in size.map { $0 > 0 ? Double(f) / Double($0) : 0 } }
        let storage = (free ?? 0) >= Readiness.minimumFreeBytes
        startAuditVerification(now: now)
        let audit = self.audit.withLock { $0.ok }
        telemetry.set(.probeDatabase, database ? 1 : 0)
        telemetry.set(.probeStorage, storage ? 1 : 0)
        telemetry.set(.probeAudit, audit.map { $0 ? 1 : 0 })
        telemetry.set(.diskFreeRatio, ratio)
        telemetry.set(.residentMemory, Self.residentMemory())
        var results = ["api": true, "database": database, "storage": storage]
        results["audit"] = audit
        return results
    }

    func databaseAnswers(within timeout: Duration) async -> Bool {
        let database = self.database
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await database.read { db in try await db.raw("SELECT 1 AS one").first() }) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Starts a verification of the whole chain in its own task when the last one is older than
    /// `auditEvery` and none is running. Broken stays broken until a later verification passes.
    func startAuditVerification(now: Double) {
        let due = audit.withLock { a in
            guard !a.running, now - a.started >= (a.failed ? min(auditEvery, Self.retryAfterFailure) : auditEvery) else { return false }
            a.running = true
            a.started = now
            return true
        }
        guard due else { return }
        let (trail, path, telemetry, logger) = (trail, checkpointFile, telemetry, logger)
        Task {
            var ok: Bool?
            do {
                if case .ok = try await AuditVerifier(trail: trail).verify(checkpoints: path.map(AuditCheckpointFile.init(path:))) { ok = true } else { ok = false }
            } catch {
                ok = nil  // could not verify: no data, not broken
                logger.warning("audit chain verification could not run; retrying soon", metadata: ["error": .string(String(describing: error).prefix(200).description)])
            }
            let result = ok
            audit.withLock { a in
                a.running = false
                a.failed = result == nil
                if let result { a.ok = result }
            }
            if let result {
                telemetry.set(.auditChainOK, result ? 1 : 0)
                telemetry.set(.probeAudit, result ? 1 : 0)
            }
        }
    }

    /// Waits for a running audit verification to finish (tests and shutdown).
    package func auditVerified() async -> Bool? {
        while audit.withLock({ $0.running }) { try? await Task.sleep(for: .milliseconds(20)) }
        return audit.withLock { $0.ok }
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
