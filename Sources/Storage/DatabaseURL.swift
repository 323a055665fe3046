import Foundation

/// Where the data lives: `sqlite:///abs/path.db`, `sqlite://relative/path.db`
/// or `postgres://user:pass@host:port/db?sslmode=disable|prefer|require`.
package enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresTarget)

    package struct PostgresTarget: Sendable, Equatable {
        package var host: String
        package var port: Int
        package var username: String
        package var password: String?
        package var database: String
        package var sslMode: String
        package var maxConnections: Int
    }

    package static let defaultValue = "sqlite://data/healthhub.db"

    package init(_ text: String) throws(StorageError) {
        if text.hasPrefix("sqlite://") {
            let path = String(text.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw .invalidURL("sqlite URL needs a path, e.g. sqlite://data/healthhub.db") }
            self = .sqlite(path: path)
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"),
            let components = URLComponents(string: text), let host = components.host, !host.isEmpty
        else {
            throw .invalidURL("expected sqlite://PATH or postgres://user:pass@host:port/db")
        }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !database.isEmpty else { throw .invalidURL("postgres URL needs a database name after the host") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let sslMode = query["sslmode"] ?? "prefer"
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw .invalidURL("sslmode must be disable, prefer or require")
        }
        self = .postgres(
            PostgresTarget(
                host: host, port: components.port ?? 5432,
                username: components.user.flatMap { $0.removingPercentEncoding } ?? "postgres",
                password: components.password.flatMap { $0.removingPercentEncoding },
                database: database, sslMode: sslMode,
                maxConnections: query["max_connections"].flatMap(Int.init) ?? 16))
    }

    /// The URL without its password, safe for logs.
    package var description: String {
        switch self {
        case .sqlite(let path): return "sqlite://\(path)"
        case .postgres(let t): return "postgres://\(t.username)@\(t.host):\(t.port)/\(t.database)"
        }
    }
}

package enum StorageError: Error, CustomStringConvertible, Equatable {
    case invalidURL(String)
    case migrationFailed(id: String, reason: String)
    case unavailable(String)
    /// A concurrent write got there first (unique key); the client may retry.
    case conflict

    package var description: String {
        switch self {
        case .invalidURL(let why): "Invalid database URL: \(why)"
        case .migrationFailed(let id, let reason): "Migration \(id) failed: \(reason)"
        case .unavailable(let why): "Database unavailable: \(why)"
        case .conflict: "A concurrent change to the same data won; retry the request"
        }
    }
}
