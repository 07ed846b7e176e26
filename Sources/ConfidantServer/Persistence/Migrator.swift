import Foundation
import SQLKit

/// One versioned schema change. Statements are fixed DDL text (never user input), given per engine.
struct Migration: Sendable {
    /// Strictly increasing version number.
    let version: Int
    /// A short description, stored with the version.
    let name: String
    /// The statements, for the given engine.
    let statements: @Sendable (DatabaseKind) -> [String]
}

/// Applies migrations in order, each in its own transaction, recording them in a table. Several
/// nodes may start at once on PostgreSQL: an advisory lock makes them take turns, and a migration
/// already recorded is skipped.
struct Migrator: Sendable {
    /// The table that records applied versions.
    let table: String
    /// Every migration, in version order.
    let migrations: [Migration]
    /// Run first in every migration transaction (for example `CREATE SCHEMA`).
    var preamble: [String] = []

    /// Versions not yet applied.
    func pending(on database: any Database) async throws -> [Migration] {
        let applied = try await database.read { store in try await appliedVersions(store) }
        return migrations.filter { !applied.contains($0.version) }
    }

    /// Applies every pending migration; returns the versions applied now.
    @discardableResult
    func migrate(_ database: any Database) async throws -> [Int] {
        var appliedNow: [Int] = []
        for migration in migrations {
            let applied = try await database.transaction { store in
                if store.kind == .postgres {
                    try await store.run("SELECT pg_advisory_xact_lock(\(bind: Int64(0x436F_6E66_0000)))")
                }
                for statement in preamble { try await store.run("\(unsafeRaw: statement)") }
                try await store.run(
                    "CREATE TABLE IF NOT EXISTS \(unsafeRaw: table) (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
                guard try await !appliedVersions(store).contains(migration.version) else { return false }
                for statement in migration.statements(store.kind) { try await store.run("\(unsafeRaw: statement)") }
                try await store.run(
                    "INSERT INTO \(unsafeRaw: table) (version, name, applied_at) VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: nowMillis()))"
                )
                return true
            }
            if applied { appliedNow.append(migration.version) }
        }
        return appliedNow
    }

    private func appliedVersions(_ store: Store) async throws -> Set<Int> {
        let exists: Bool
        switch store.kind {
        case .sqlite:
            let name = table
            exists =
                try await store.scalar("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = \(bind: name)", column: "n", as: Int.self) ?? 0
                > 0
        case .postgres:
            exists = try await store.scalar("SELECT to_regclass(\(bind: table)) IS NOT NULL AS present", column: "present", as: Bool.self) ?? false
        }
        guard exists else { return [] }
        return Set(try await store.all("SELECT version FROM \(unsafeRaw: table)", as: VersionRow.self).map(\.version))
    }

    private struct VersionRow: Decodable { let version: Int }
}
