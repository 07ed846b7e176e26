import ConfidantCore
import Foundation
import SQLKit
public import ServiceLifecycle

/// Which SQL engine a ``Database`` runs on. DDL differs slightly; DML is shared.
public enum DatabaseKind: String, Sendable {
    case sqlite
    case postgres

    /// The column type for opaque bytes (sealed ciphertext).
    var blobType: String { self == .sqlite ? "BLOB" : "BYTEA" }
}

/// One relational store: the embedded SQLite file or a PostgreSQL server. Every query in
/// Confidant runs inside ``read(_:)`` or ``transaction(_:)``. As a `Service`, ``run()`` keeps the
/// connections open until graceful shutdown (or cancellation) and then closes them.
public protocol Database: Service {
    /// The engine.
    var kind: DatabaseKind { get }
    /// Runs `body` on a connection that sees committed data. No transaction is opened.
    func read<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T
    /// Runs `body` in one transaction, committed when it returns and rolled back when it throws.
    /// A write is durable once this returns (see docs/architecture.md, "Durability").
    func transaction<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T
}

/// The typed query API over one connection, inside a read or a transaction. Queries live in
/// extensions per table (`Store+Conversations.swift`, ...), all with bound parameters.
public struct Store: Sendable {
    /// The SQLKit handle for this connection.
    let sql: any SQLDatabase
    /// The engine, for the few statements that differ.
    let kind: DatabaseKind

    /// Runs a statement that returns no rows.
    func run(_ query: SQLQueryString) async throws {
        try await sql.raw(query).run()
    }

    /// Runs a query and decodes every row with snake_case column names.
    func all<Row: Decodable>(_ query: SQLQueryString, as type: Row.Type) async throws -> [Row] {
        try await sql.raw(query).all(decoding: Row.self, keyDecodingStrategy: .convertFromSnakeCase)
    }

    /// Runs a query and decodes the first row, if any.
    func first<Row: Decodable>(_ query: SQLQueryString, as type: Row.Type) async throws -> Row? {
        try await sql.raw(query).first(decoding: Row.self, keyDecodingStrategy: .convertFromSnakeCase)
    }

    /// Runs a query and decodes one column of the first row, if any.
    func scalar<Value: Decodable>(_ query: SQLQueryString, column: String, as type: Value.Type) async throws -> Value? {
        try await sql.raw(query).first(decodingColumn: column, as: Value.self)
    }

    /// Runs `body` between `begin` and `COMMIT`, rolling back if it throws.
    nonisolated(nonsending) func inTransaction<T>(begin: SQLQueryString, _ body: (Store) async throws -> T) async throws -> T {
        try await run(begin)
        do {
            let result = try await body(self)
            try await run("COMMIT")
            return result
        } catch {
            try? await run("ROLLBACK")
            throw error
        }
    }

    /// Serializes routing decisions across nodes sharing one PostgreSQL (SQLite already has a
    /// single writer). Held until the transaction ends.
    func lockRouting() async throws {
        if kind == .postgres {
            try await run("SELECT pg_advisory_xact_lock(\(bind: Int64(0x436F_6E66_0001)))")
        }
    }
}

/// The current time in Unix milliseconds, the unit of every stored timestamp.
func nowMillis() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded())
}
