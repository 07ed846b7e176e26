import Foundation
public import Logging
import PostgresKit
public import PostgresNIO
import SQLKit

/// The shared store for several nodes: a PostgreSQL server reached through a connection pool.
/// The pool is a service: ``run()`` must be running (the application's service group does it).
///
/// Durability: PostgreSQL's default `synchronous_commit = on` flushes the WAL before `COMMIT`
/// returns; Confidant never turns it off.
public final class PostgresDatabase: Database {
    public let kind = DatabaseKind.postgres
    /// The connection pool.
    public let client: PostgresClient

    /// Creates a pool for `url` (`postgres://user:password@host:port/database?sslmode=...`).
    public init(url: String, logger: Logger) throws {
        self.client = PostgresClient(configuration: try Self.configuration(from: url), backgroundLogger: logger)
    }

    /// Parses a `postgres://` or `postgresql://` URL. `sslmode=disable` turns TLS off,
    /// `require` requires it; the default prefers it.
    static func configuration(from url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            throw ConfigurationError("The database URL must look like postgres://user:password@host:5432/database.")
        }
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        case "prefer": tls = .prefer(.makeClientConfiguration())
        default: throw ConfigurationError("Unsupported sslmode '\(sslMode)' (use disable, prefer or require).")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var configuration = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
        configuration.options.maximumConnections = 20
        return configuration
    }

    /// Runs the connection pool until graceful shutdown or cancellation.
    public func run() async {
        await client.run()
    }

    public func read<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(Store(sql: connection.sql(queryLogLevel: nil), kind: .postgres))
        }
    }

    public func transaction<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await Store(sql: connection.sql(queryLogLevel: nil), kind: .postgres).inTransaction(begin: "BEGIN", body)
        }
    }
}
