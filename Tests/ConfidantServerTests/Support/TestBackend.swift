import Foundation
import Logging
import PostgresNIO
import Testing

/// The two storage engines every store and chat test runs on.
enum TestBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The throwaway PostgreSQL cluster started by `scripts/test`.
    static var postgresAdminURL: String? { ProcessInfo.processInfo.environment["CONFIDANT_TEST_POSTGRES_URL"] }

    /// A fresh, empty database URL for this backend (nil for SQLite: it lives in the data dir).
    /// PostgreSQL tests fail, rather than silently skip, when no server was provided.
    func freshDatabaseURL() async throws -> String? {
        guard self == .postgres else { return nil }
        guard let admin = Self.postgresAdminURL, var components = URLComponents(string: admin) else {
            Issue.record("CONFIDANT_TEST_POSTGRES_URL is not set: run the suite with scripts/test, which starts PostgreSQL.")
            throw CancellationError()
        }
        let name = "confidant_test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try await Self.withAdminConnection(admin) { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
        }
        components.path = "/" + name
        return components.string
    }

    static func withAdminConnection<T>(_ url: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let components = URLComponents(string: url)!
        let configuration = PostgresConnection.Configuration(
            host: components.host!, port: components.port ?? 5432, username: components.user ?? "postgres", password: components.password,
            database: String(components.path.dropFirst()), tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static let logger = Logger(label: "test-postgres")
}
