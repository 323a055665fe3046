import Logging
import NIOCore
import SQLKit

/// Passes every query on to `base`, after showing it to `observe` (which may run queries of its
/// own on `base`: `EXPLAIN`, say). The query-recording and query-plan tests share it.
/// Only SQLKit's async entry point is observed; HealthHub runs every query through it.
package struct ObservedSQLDatabase: SQLDatabase {
    package let base: any SQLDatabase
    let observe: @Sendable (any SQLExpression, any SQLDatabase) async throws -> Void

    package init(base: any SQLDatabase, observe: @escaping @Sendable (any SQLExpression, any SQLDatabase) async throws -> Void) {
        self.base = base
        self.observe = observe
    }

    package var logger: Logger { base.logger }
    package var eventLoop: any EventLoop { base.eventLoop }
    package var version: (any SQLDatabaseReportedVersion)? { base.version }
    package var dialect: any SQLDialect { base.dialect }
    package var queryLogLevel: Logger.Level? { base.queryLogLevel }

    package func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        base.execute(sql: query, onRow)
    }

    package func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await observe(query, base)
        try await base.execute(sql: query, onRow)
    }
}
