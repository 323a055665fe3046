import Foundation
import HTTPTypes
import Kernel
import SQLKit
import Storage

/// Runs searches: the page of matches, the total, and `_include`/`_revinclude` resources.
package struct SearchEngine: Sendable {
    package let registry: SearchParameterRegistry
    let definitions: FHIRDefinitions
    let store: ResourceStore

    package init(definitions: FHIRDefinitions, registry: SearchParameterRegistry, store: ResourceStore) {
        self.definitions = definitions
        self.registry = registry
        self.store = store
    }

    package struct Result: Sendable {
        package var matches: [ResourceVersion]
        package var included: [ResourceVersion]
        package var total: Int?
        package var hasMore: Bool

        package init(matches: [ResourceVersion], included: [ResourceVersion], total: Int?, hasMore: Bool) {
            self.matches = matches
            self.included = included
            self.total = total
            self.hasMore = hasMore
        }
    }

    func sql(_ access: RequestAccess) -> SearchSQL { SearchSQL(registry: registry, definitions: definitions, access: access) }

    /// `access` limits the matches and the included resources to what the request may read,
    /// in the SQL itself (counts and pages never see other rows).
    package func search(_ request: SearchRequest, access: RequestAccess, on db: (any SQLDatabase)? = nil) async throws -> Result {
        let limit = try access.limit(request.type, .search)
        let sql = sql(access)
        var whereClause = try sql.condition(for: request)
        if let visible = access.condition(limit, type: request.type) { whereClause = whereClause + " AND " + visible }
        let condition = whereClause
        let order = try sql.orderBy(request)
        let wantCount = request.summary == .count ? 0 : request.count
        let body: @Sendable (any SQLDatabase) async throws -> Result = { db in
            func count() async throws -> Int? {
                try await db.raw("SELECT COUNT(*) AS n FROM hh_resource r WHERE " + condition).first()?.decode(column: "n", as: Int.self)
            }
            var matches: [ResourceVersion] = []
            var hasMore = false
            if wantCount > 0 {
                let rows = try await db.raw(
                    "SELECT r.res_id, r.version, r.last_updated, r.key_id, r.content FROM hh_resource r WHERE " + condition + " ORDER BY " + order
                        + " LIMIT \(bind: wantCount + 1) OFFSET \(bind: request.offset)"
                ).all()
                hasMore = rows.count > wantCount
                matches = try rows.prefix(wantCount).map { try currentVersion($0, type: request.type) }
            }
            var total: Int?
            switch (request.total, request.summary) {
            case (_, .count?), (.accurate?, _), (.estimate?, _):
                total = try await count()
            case (.none?, _):
                total = nil
            case (nil, _):
                // Free when this page holds the end of the result; counting a large result
                // would double the cost of every page, so it is left to `_total=accurate`.
                if wantCount > 0 && !hasMore && (!matches.isEmpty || request.offset == 0) { total = request.offset + matches.count }
            }
            let included = try await includes(for: request, matches: matches, access: access, on: db)
            return Result(matches: matches, included: included, total: total, hasMore: hasMore)
        }
        if let db { return try await body(db) }
        return try await store.database.read(body)
    }

    /// Ids matching a search (for conditional create/update/delete and conditional references).
    /// Only what `access` may see for `permission` (the interaction the match is for) matches.
    package func matchingIDs(_ request: SearchRequest, limit: Int, access: RequestAccess, for permission: Permission, on db: any SQLDatabase) async throws -> [String] {
        var condition = try sql(access).condition(for: request)
        if let visible = access.visibility(request.type, permission) { condition = condition + " AND " + visible }
        return try await db.raw("SELECT r.res_id FROM hh_resource r WHERE " + condition + " ORDER BY r.res_id LIMIT \(bind: limit)").all().map {
            try $0.decode(column: "res_id", as: String.self)
        }
    }

    func currentVersion(_ row: any SQLRow, type: String) throws -> ResourceVersion {
        let id = try row.decode(column: "res_id", as: String.self)
        let version = try row.decode(column: "version", as: Int.self)
        return ResourceVersion(
            type: type, id: id, version: version,
            lastUpdated: try row.decode(column: "last_updated", as: Int64.self), deleted: false,
            content: try store.unseal(row, type: type, id: id, version: version))
    }

    private func includes(for request: SearchRequest, matches: [ResourceVersion], access: RequestAccess, on db: any SQLDatabase) async throws -> [ResourceVersion] {
        guard !request.includes.isEmpty, !matches.isEmpty else { return [] }
        var seen = Set(matches.map(\.reference))
        var included: [ResourceVersion] = []
        var frontier = matches
        // One pass for plain includes, then up to 3 more passes for :iterate ones.
        for pass in 0..<4 {
            var found: [ResourceVersion] = []
            for include in request.includes where pass == 0 || include.iterate {
                let sources = frontier.filter { $0.type == include.sourceType || include.reverse }
                guard !sources.isEmpty else { continue }
                let targets: [(String, String)] =
                    include.reverse
                    ? try await revincludeTargets(include, of: sources, on: db)
                    : try await includeTargets(include, of: sources, on: db)
                var wanted: [String: [String]] = [:]
                for (type, id) in targets where seen.insert("\(type)/\(id)").inserted && seen.count <= Self.maxIncluded {
                    wanted[type, default: []].append(id)
                }
                for (type, ids) in wanted.sorted(by: { $0.key < $1.key }) {
                    found += try await currentVersions(type, ids, visible: access.visibility(type), on: db)
                }
            }
            included += found
            frontier = found
            if found.isEmpty { break }
        }
        return included
    }

    /// Included resources per search page, at most (a `_revinclude` of a busy patient is large).
    static let maxIncluded = 1000

    /// Current, not deleted versions of some resources of one type, in one query.
    private func currentVersions(_ type: String, _ ids: [String], visible: SQLQueryString?, on db: any SQLDatabase) async throws -> [ResourceVersion] {
        var q: SQLQueryString =
            "SELECT r.res_id, r.version, r.last_updated, r.key_id, r.content FROM hh_resource r WHERE r.res_type = \(bind: type) AND r.deleted = 0 AND r.res_id IN ("
        for (i, id) in ids.enumerated() { q += i == 0 ? "\(bind: id)" : ", \(bind: id)" }
        q += ")"
        if let visible { q += " AND " + visible }
        q += " ORDER BY r.res_id"
        return try await db.raw(q).all().map { try currentVersion($0, type: type) }
    }

    private func includeTargets(_ include: SearchRequest.Include, of sources: [ResourceVersion], on db: any SQLDatabase) async throws -> [(String, String)] {
        var q: SQLQueryString = "SELECT DISTINCT target_type, target_id FROM hh_idx_reference WHERE res_type = \(bind: include.sourceType) AND target_type <> '' AND res_id IN ("
        for (i, s) in sources.enumerated() { q += i == 0 ? "\(bind: s.id)" : ", \(bind: s.id)" }
        q += ")"
        if include.param != "*" { q += " AND param = \(bind: include.param)" }
        if let t = include.targetType { q += " AND target_type = \(bind: t)" }
        return try await db.raw(q).all().map { (try $0.decode(column: "target_type", as: String.self), try $0.decode(column: "target_id", as: String.self)) }
    }

    private func revincludeTargets(_ include: SearchRequest.Include, of targets: [ResourceVersion], on db: any SQLDatabase) async throws -> [(String, String)] {
        var q: SQLQueryString = "SELECT DISTINCT res_type, res_id FROM hh_idx_reference WHERE res_type = \(bind: include.sourceType) AND ("
        for (i, t) in targets.enumerated() {
            q += (i == 0 ? "" : " OR ") + "(target_type = \(bind: t.type) AND target_id = \(bind: t.id))"
        }
        q += ")"
        if include.param != "*" { q += " AND param = \(bind: include.param)" }
        return try await db.raw(q).all().map { (try $0.decode(column: "res_type", as: String.self), try $0.decode(column: "res_id", as: String.self)) }
    }
}
