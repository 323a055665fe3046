import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Sealing
import Storage

/// One version of a resource as stored.
package struct ResourceVersion: Sendable {
    package let type: String
    package let id: String
    package let version: Int
    package let lastUpdated: Int64
    package let deleted: Bool
    /// The resource JSON (plaintext); nil for a deletion.
    package let content: Data?

    package var etag: String { "W/\"\(version)\"" }
    package var reference: String { "\(type)/\(id)" }

    package init(type: String, id: String, version: Int, lastUpdated: Int64, deleted: Bool, content: Data?) {
        self.type = type
        self.id = id
        self.version = version
        self.lastUpdated = lastUpdated
        self.deleted = deleted
        self.content = content
    }
}

/// Stores resources: current row, append-only history, and search index, all written in the
/// caller's transaction; content sealed under the keyring's current data key.
package struct ResourceStore: Sendable {
    package let database: any Database
    let keyring: Keyring
    package let indexer: SearchIndexer
    let clock: any WallClock
    /// Rules run in the transaction of every write of their types (`ResourceWriteRule`).
    let rules: [String: [any ResourceWriteRule]]

    package init(database: any Database, keyring: Keyring, indexer: SearchIndexer, clock: any WallClock, rules: [any ResourceWriteRule] = []) {
        self.database = database
        self.keyring = keyring
        self.indexer = indexer
        self.clock = clock
        var byType: [String: [any ResourceWriteRule]] = [:]
        for rule in rules { for type in rule.types { byType[type, default: []].append(rule) } }
        self.rules = byType
    }

    /// Whether writes of this type run rules (so they cannot share a transaction with
    /// unrelated creates: one refusal would fail them all).
    package func hasRules(for type: String) -> Bool { rules[type] != nil }

    private func applyRules(_ change: ResourceChange, in tx: DatabaseTransaction) async throws {
        for rule in rules[change.type] ?? [] { try await rule.apply(change, store: self, in: tx) }
    }

    // MARK: Reads

    /// The current version, including a deleted marker; nil when the id was never used.
    package func read(_ type: String, _ id: String, on db: (any SQLDatabase)? = nil) async throws -> ResourceVersion? {
        let query: SQLQueryString = "SELECT version, last_updated, deleted, key_id, content FROM hh_resource WHERE res_type = \(bind: type) AND res_id = \(bind: id)"
        let row: (any SQLRow)? =
            if let db {
                try await db.raw(query).first()
            } else {
                try await database.read { try await $0.raw(query).first() }
            }
        guard let row else { return nil }
        let version = try row.decode(column: "version", as: Int.self)
        let deleted = try row.decode(column: "deleted", as: Int.self) != 0
        return ResourceVersion(
            type: type, id: id, version: version,
            lastUpdated: try row.decode(column: "last_updated", as: Int64.self), deleted: deleted,
            content: deleted ? nil : try unseal(row, type: type, id: id, version: version))
    }

    /// The current resources that name Patient `patient` in one of their compartment
    /// parameters (`parameters`: type → parameter names, the types the caller may read), in
    /// type and id order. Read through the reference index's (target_type, target_id) index.
    package func compartment(of patient: String, parameters: [String: [String]]) async throws -> [ResourceVersion] {
        let types = parameters.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
        guard !types.isEmpty else { return [] }
        var which: SQLQueryString = ""
        for (n, (type, params)) in types.enumerated() {
            if n > 0 { which = which + " OR " }
            var names: SQLQueryString = ""
            for (m, param) in params.enumerated() { names = names + (m > 0 ? ", " : "") + "\(bind: param)" }
            which = which + "(x.res_type = \(bind: type) AND x.param IN (" + names + "))"
        }
        let query: SQLQueryString =
            "SELECT r.res_type, r.res_id, r.version, r.last_updated, r.key_id, r.content FROM hh_resource r WHERE r.deleted = 0 AND EXISTS ("
            + "SELECT 1 FROM hh_idx_reference x WHERE x.target_type = 'Patient' AND x.target_id = \(bind: patient) AND x.res_type = r.res_type AND x.res_id = r.res_id AND ("
            + which + ")) ORDER BY r.res_type, r.res_id"
        let rows = try await database.read { try await $0.raw(query).all() }
        return try rows.map { row in
            let type = try row.decode(column: "res_type", as: String.self)
            let id = try row.decode(column: "res_id", as: String.self)
            let version = try row.decode(column: "version", as: Int.self)
            return ResourceVersion(
                type: type, id: id, version: version, lastUpdated: try row.decode(column: "last_updated", as: Int64.self), deleted: false,
                content: try unseal(row, type: type, id: id, version: version))
        }
    }

    package func vread(_ type: String, _ id: String, version: Int) async throws -> ResourceVersion? {
        let row = try await database.read { db in
            try await db.raw(
                "SELECT version, last_updated, method, key_id, content FROM hh_resource_history WHERE res_type = \(bind: type) AND res_id = \(bind: id) AND version = \(bind: version)"
            ).first()
        }
        guard let row else { return nil }
        return try historyVersion(row, type: type, id: id)
    }

    func historyVersion(_ row: any SQLRow, type: String, id: String) throws -> ResourceVersion {
        let version = try row.decode(column: "version", as: Int.self)
        let deleted = try row.decode(column: "method", as: String.self) == "DELETE"
        return ResourceVersion(
            type: type, id: id, version: version,
            lastUpdated: try row.decode(column: "last_updated", as: Int64.self), deleted: deleted,
            content: deleted ? nil : try unseal(row, type: type, id: id, version: version))
    }

    /// Content of a row selected with `key_id` and `content` columns, authenticated and decrypted.
    func unseal(_ row: any SQLRow, type: String, id: String, version: Int) throws -> Data {
        let keyID = try row.decode(column: "key_id", as: String.self)
        let sealed = try row.decode(column: "content", as: Data.self)
        return try keyring.open(record: sealed, keyID: keyID, type: type, id: id, version: version)
    }

    // MARK: Writes (in the caller's transaction)

    /// Creates a resource with a new id (or the given one when the caller reserved it).
    package func create(_ resource: JSONObject, type: String, id: String = ResourceID.generate(), in tx: DatabaseTransaction) async throws -> ResourceVersion {
        try await write(resource, type: type, id: id, version: 1, previous: nil, in: tx)
    }

    /// Updates (or creates, when the id is unused) a resource. `ifMatch` is the version the
    /// client based its change on; a mismatch is a 412 and nothing is written.
    package func update(_ resource: JSONObject, type: String, id: String, ifMatch: Int?, in tx: DatabaseTransaction) async throws -> (ResourceVersion, created: Bool) {
        try await tx.lock("resource:\(type)/\(id)")
        let current = try await read(type, id, on: tx.sql)
        if let ifMatch, current?.version != ifMatch || current?.deleted == true {
            throw FHIRError.preconditionFailed(
                "Version conflict: If-Match is W/\"\(ifMatch)\" but the current version of \(type)/\(id) is \(current.map { $0.deleted ? "deleted" : "W/\"\($0.version)\"" } ?? "absent")"
            )
        }
        let version = (current?.version ?? 0) + 1
        let stored = try await write(resource, type: type, id: id, version: version, previous: current, in: tx)
        return (stored, current == nil || current!.deleted)
    }

    /// Deletes a resource; returns the deletion version, or nil when there was nothing to delete.
    @discardableResult
    package func delete(_ type: String, _ id: String, in tx: DatabaseTransaction) async throws -> ResourceVersion? {
        try await tx.lock("resource:\(type)/\(id)")
        guard let current = try await read(type, id, on: tx.sql), !current.deleted else { return nil }
        let version = current.version + 1
        let now = nextTimestamp(after: current.lastUpdated)
        try await tx.sql.raw("UPDATE hh_resource SET version = \(bind: version), last_updated = \(bind: now), deleted = 1 WHERE res_type = \(bind: type) AND res_id = \(bind: id)")
            .run()
        try await tx.sql.raw(
            "INSERT INTO hh_resource_history (res_type, res_id, version, last_updated, method, key_id, content) VALUES (\(bind: type), \(bind: id), \(bind: version), \(bind: now), 'DELETE', NULL, NULL)"
        ).run()
        // A deletion belongs to the patients of the version it deletes.
        try await tx.sql.raw(
            "INSERT INTO hh_history_patient (res_type, res_id, version, param, patient_id) SELECT res_type, res_id, \(bind: version), param, patient_id FROM hh_history_patient WHERE res_type = \(bind: type) AND res_id = \(bind: id) AND version = \(bind: current.version)"
        ).run()
        try await clearIndex(type, id, in: tx)
        try await applyRules(ResourceChange(type: type, id: id, version: version, resource: nil), in: tx)
        return ResourceVersion(type: type, id: id, version: version, lastUpdated: now, deleted: true, content: nil)
    }

    private func nextTimestamp(after previous: Int64?) -> Int64 {
        let now = Instant.millis(clock.now())
        guard let previous else { return now }
        return max(now, previous + 1)
    }

    /// A resource ready to insert: final JSON, sealed bytes and search values.
    package struct PreparedWrite: Sendable {
        package let version: ResourceVersion
        let sealed: Data
        let keyID: String
        let index: IndexEntries
    }

    func prepare(_ resource: JSONObject, type: String, id: String, version: Int, lastUpdated now: Int64) throws -> PreparedWrite {
        let json = JSON.object(Self.stamped(resource, type: type, id: id, version: version, lastUpdated: now))
        let bytes = Data(json.serialized())
        let sealed = try keyring.seal(record: bytes, type: type, id: id, version: version)
        return PreparedWrite(
            version: ResourceVersion(type: type, id: id, version: version, lastUpdated: now, deleted: false, content: bytes),
            sealed: sealed.sealed, keyID: sealed.keyID, index: indexer.entries(for: json, type: type))
    }

    /// The resource as stored: its type first, its id, and `meta.versionId` and `meta.lastUpdated`.
    package static func stamped(_ resource: JSONObject, type: String, id: String, version: Int, lastUpdated now: Int64) -> JSONObject {
        var body = resource
        body.setFirst("resourceType", .string(type))
        body["id"] = .string(id)
        var meta = body["meta"]?.objectValue ?? JSONObject()
        meta["versionId"] = .string(String(version))
        meta["lastUpdated"] = .string(Instant.format(millis: now))
        body["meta"] = .object(meta)
        return body
    }

    /// Prepares a new resource (version 1, stamped now) outside any transaction: index values
    /// and sealing are CPU work that should not hold the writer.
    package func prepareCreate(_ resource: JSONObject, type: String, id: String) throws -> PreparedWrite {
        try prepare(resource, type: type, id: id, version: 1, lastUpdated: nextTimestamp(after: nil))
    }

    /// Creates many new resources with few statements (multi-row inserts); used by bundles and import.
    package func createMany(_ items: [(type: String, id: String, resource: JSONObject)], in tx: DatabaseTransaction) async throws -> [ResourceVersion] {
        let prepared = try await prepareInParallel(items)
        try await insertCreated(prepared, in: tx)
        return prepared.map(\.version)
    }

    /// Index extraction and sealing of a large bundle spread over the cores, in order.
    private func prepareInParallel(_ items: [(type: String, id: String, resource: JSONObject)]) async throws -> [PreparedWrite] {
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, items.count / 32)
        guard workers > 1 else { return try items.map { try prepareCreate($0.resource, type: $0.type, id: $0.id) } }
        let size = (items.count + workers - 1) / workers
        return try await withThrowingTaskGroup(of: (Int, [PreparedWrite]).self) { group in
            for start in stride(from: 0, to: items.count, by: size) {
                let chunk = Array(items[start..<min(items.count, start + size)])
                group.addTask { (start, try chunk.map { try prepareCreate($0.resource, type: $0.type, id: $0.id) }) }
            }
            var parts: [(Int, [PreparedWrite])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// Inserts prepared new resources: three statement kinds whatever their number.
    package func insertCreated(_ prepared: [PreparedWrite], in tx: DatabaseTransaction) async throws {
        try await insertRows(tx, "hh_resource", "res_type, res_id, version, last_updated, deleted, key_id, content", prepared) { p in
            "\(bind: p.version.type), \(bind: p.version.id), 1, \(bind: p.version.lastUpdated), 0, \(bind: p.keyID), \(bind: p.sealed)"
        }
        try await insertRows(tx, "hh_resource_history", "res_type, res_id, version, last_updated, method, key_id, content", prepared) { p in
            "\(bind: p.version.type), \(bind: p.version.id), 1, \(bind: p.version.lastUpdated), 'POST', \(bind: p.keyID), \(bind: p.sealed)"
        }
        try await insertIndex(prepared.map { ($0.version.type, $0.version.id, $0.index) }, in: tx)
        try await insertHistoryPatients(prepared, in: tx)
        for p in prepared where hasRules(for: p.version.type) {
            let resource = try p.version.content.map { try JSON.parse($0).objectValue ?? [:] }
            try await applyRules(ResourceChange(type: p.version.type, id: p.version.id, version: 1, resource: resource), in: tx)
        }
    }

    /// The Patient references of each version, kept with the version (`hh_history_patient`).
    private func insertHistoryPatients(_ prepared: [PreparedWrite], in tx: DatabaseTransaction) async throws {
        let rows = prepared.flatMap { p in
            Set(p.index.references.filter { $0.targetType == "Patient" }.map { [$0.param, $0.targetID] }).map { (p.version, $0[0], $0[1]) }
        }
        try await insertRows(tx, "hh_history_patient", "res_type, res_id, version, param, patient_id", rows) { row in
            "\(bind: row.0.type), \(bind: row.0.id), \(bind: row.0.version), \(bind: row.1), \(bind: row.2)"
        }
    }

    private func write(_ resource: JSONObject, type: String, id: String, version: Int, previous: ResourceVersion?, in tx: DatabaseTransaction) async throws -> ResourceVersion {
        let now = nextTimestamp(after: previous?.lastUpdated)
        let p = try prepare(resource, type: type, id: id, version: version, lastUpdated: now)
        let method = previous == nil ? "POST" : "PUT"
        if previous == nil {
            try await tx.sql.raw(
                "INSERT INTO hh_resource (res_type, res_id, version, last_updated, deleted, key_id, content) VALUES (\(bind: type), \(bind: id), \(bind: version), \(bind: now), 0, \(bind: p.keyID), \(bind: p.sealed))"
            ).run()
        } else {
            try await tx.sql.raw(
                "UPDATE hh_resource SET version = \(bind: version), last_updated = \(bind: now), deleted = 0, key_id = \(bind: p.keyID), content = \(bind: p.sealed) WHERE res_type = \(bind: type) AND res_id = \(bind: id)"
            ).run()
            try await clearIndex(type, id, in: tx)
        }
        try await tx.sql.raw(
            "INSERT INTO hh_resource_history (res_type, res_id, version, last_updated, method, key_id, content) VALUES (\(bind: type), \(bind: id), \(bind: version), \(bind: now), \(bind: method), \(bind: p.keyID), \(bind: p.sealed))"
        ).run()
        try await insertIndex([(type, id, p.index)], in: tx)
        try await insertHistoryPatients([p], in: tx)
        if hasRules(for: type) {
            let stored = Self.stamped(resource, type: type, id: id, version: version, lastUpdated: now)
            try await applyRules(ResourceChange(type: type, id: id, version: version, resource: stored), in: tx)
        }
        return p.version
    }

    private func clearIndex(_ type: String, _ id: String, in tx: DatabaseTransaction) async throws {
        for table in FHIRMigrations.indexTables {
            try await tx.sql.raw("DELETE FROM \(unsafeRaw: table) WHERE res_type = \(bind: type) AND res_id = \(bind: id)").run()
        }
    }

    /// Multi-row INSERTs, 300 rows a statement (well under both engines' bind limits).
    private func insertRows<Row>(_ tx: DatabaseTransaction, _ table: String, _ columns: String, _ rows: [Row], _ values: (Row) -> SQLQueryString) async throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + 300)]
            var q = SQLQueryString("INSERT INTO \(table) (\(columns)) VALUES ")
            for (i, row) in chunk.enumerated() {
                if i > 0 { q += ", " }
                q += "(" + values(row) + ")"
            }
            try await tx.sql.raw(q).run()
            start += chunk.count
        }
    }

    private func insertIndex(_ items: [(type: String, id: String, entries: IndexEntries)], in tx: DatabaseTransaction) async throws {
        typealias Row<T> = (type: String, id: String, value: T)
        func rows<T>(_ key: KeyPath<IndexEntries, [T]>) -> [Row<T>] {
            items.flatMap { item in item.entries[keyPath: key].map { (item.type, item.id, $0) } }
        }
        let cols = "res_type, res_id, param, "
        try await insertRows(tx, "hh_idx_string", cols + "value, exact", rows(\.strings)) {
            "\(bind: $0.type), \(bind: $0.id), \(bind: $0.value.param), \(bind: $0.value.normalized), \(bind: $0.value.exact)"
        }
        try await insertRows(tx, "hh_idx_token", cols + "system, code", rows(\.tokens)) {
            "\(bind: $0.type), \(bind: $0.id), \(bind: $0.value.param), \(bind: $0.value.system), \(bind: $0.value.code)"
        }
        try await insertRows(tx, "hh_idx_date", cols + "low, high", rows(\.dates)) {
            "\(bind: $0.type), \(bind: $0.id), \(bind: $0.value.param), \(bind: $0.value.low), \(bind: $0.value.high)"
        }
        try await insertRows(tx, "hh_idx_reference", cols + "target_type, target_id, url", rows(\.references)) {
            "\(bind: $0.type), \(bind: $0.id), \(bind: $0.value.param), \(bind: $0.value.targetType), \(bind: $0.value.targetID), \(bind: $0.value.url)"
        }
        try await insertRows(tx, "hh_idx_number", cols + "value", rows(\.numbers)) { "\(bind: $0.type), \(bind: $0.id), \(bind: $0.value.param), \(bind: $0.value.value)" }
        try await insertRows(tx, "hh_idx_quantity", cols + "system, code, value", rows(\.quantities)) {
            "\(bind: $0.type), \(bind: $0.id), \(bind: $0.value.param), \(bind: $0.value.system), \(bind: $0.value.code), \(bind: $0.value.value)"
        }
        try await insertRows(tx, "hh_idx_uri", cols + "value", rows(\.uris)) { "\(bind: $0.type), \(bind: $0.id), \(bind: $0.value.param), \(bind: $0.value.value)" }
    }

    // MARK: History

    package enum HistoryScope: Sendable {
        case system
        case type(String)
        case instance(String, String)
    }

    /// History entries newest first, with paging.
    /// `visible`: for a type's history, the access condition on its current rows `r`; the
    /// history of resources the request may not see is left out of the page and the total.
    package func history(_ scope: HistoryScope, since: Int64?, count: Int, offset: Int, visible: SQLQueryString? = nil) async throws -> (entries: [ResourceVersion], total: Int) {
        var filter: SQLQueryString = "1 = 1"
        switch scope {
        // The audit trail has its own history (AuditEvent/_history); it would drown the rest.
        case .system: filter = "res_type <> 'AuditEvent'"
        case .type(let t):
            filter = "res_type = \(bind: t)"
            if let visible { filter += " AND " + visible }
        case .instance(let t, let i): filter = "res_type = \(bind: t) AND res_id = \(bind: i)"
        }
        if let since { filter += " AND last_updated >= \(bind: since)" }
        let whereClause = filter
        return try await database.read { db in
            let total = try await db.raw("SELECT COUNT(*) AS n FROM hh_resource_history h WHERE " + whereClause).first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await db.raw(
                "SELECT res_type, res_id, version, last_updated, method, key_id, content FROM hh_resource_history h WHERE " + whereClause
                    + " ORDER BY last_updated DESC, res_type, res_id, version DESC LIMIT \(bind: count) OFFSET \(bind: offset)"
            ).all()
            let entries = try rows.map { row in
                try historyVersion(row, type: try row.decode(column: "res_type", as: String.self), id: try row.decode(column: "res_id", as: String.self))
            }
            return (entries, total)
        }
    }
}
