import ConfidantCore
import Crypto
import Foundation
import SQLKit
import Synchronization

/// Per-visitor data keys (DEKs), each wrapped (AES-256-GCM) by the master key and kept in a store
/// apart from the data they protect: its own SQLite file (`keys.sqlite`) next to the data file, or
/// its own schema (`confidant_keys`) in PostgreSQL. Destroying a visitor's key (issue #7) makes
/// every copy of their ciphertext unreadable, including old copies of the data store.
public final class KeyStore: Sendable {
    let database: any Database
    let table: String
    let metaTable: String
    let masterKey: MasterKey
    private let wrapKey: SymmetricKey
    /// Unwrapped keys of recently active visitors, so the hot path does not unwrap per message.
    private let cache = Mutex<[String: SymmetricKey]>([:])
    private static let cacheLimit = 10_000

    /// The key store in `database`, which is either its own SQLite file or the shared PostgreSQL.
    init(database: any Database, masterKey: MasterKey) {
        self.database = database
        let prefix = database.kind == .postgres ? "confidant_keys." : ""
        self.table = prefix + "data_keys"
        self.metaTable = prefix + "key_store_meta"
        self.masterKey = masterKey
        self.wrapKey = masterKey.derive("confidant data-key wrapping v1")
    }

    /// The key store's own schema history.
    var migrator: Migrator {
        let table = table
        let metaTable = metaTable
        let isPostgres = database.kind == .postgres
        return Migrator(
            table: isPostgres ? "confidant_keys.schema_migrations" : "schema_migrations",
            migrations: [
                Migration(version: 1, name: "data keys") { kind in
                    [
                        "CREATE TABLE \(table) (owner_id TEXT PRIMARY KEY, wrapped \(kind.blobType) NOT NULL, created_at BIGINT NOT NULL)",
                        "CREATE TABLE \(metaTable) (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
                    ]
                }
            ],
            preamble: isPostgres ? ["CREATE SCHEMA IF NOT EXISTS confidant_keys"] : []
        )
    }

    /// Records the master key's fingerprint on first use and refuses a different key later, so a
    /// wrong key fails at start-up with a clear message instead of at the first message. True when
    /// this call registered the key (a new key store).
    @discardableResult
    func verifyMasterKey() async throws -> Bool {
        let fingerprint = masterKey.fingerprint
        let metaTable = metaTable
        let (stored, registered) = try await database.transaction { store in
            if let existing = try await store.scalar(
                "SELECT value FROM \(unsafeRaw: metaTable) WHERE name = 'master_key_fingerprint'", column: "value", as: String.self)
            {
                return (existing, false)
            }
            try await store.run("INSERT INTO \(unsafeRaw: metaTable) (name, value) VALUES ('master_key_fingerprint', \(bind: fingerprint))")
            return (fingerprint, true)
        }
        guard stored == fingerprint else {
            throw ConfigurationError(
                "The master key (fingerprint \(fingerprint)) is not the one this key store was created with (\(stored)). Supply the original key."
            )
        }
        return registered
    }

    /// Creates and stores a new data key for `owner`.
    func createDataKey(for owner: VisitorID) async throws -> SymmetricKey {
        let key = SymmetricKey(size: .bits256)
        let plain = key.withUnsafeBytes { Data($0) }
        guard let wrapped = try AES.GCM.seal(plain, using: wrapKey, authenticating: aad(owner)).combined else {
            throw CryptoKitError.incorrectParameterSize
        }
        let table = table
        try await database.transaction { store in
            try await store.run(
                "INSERT INTO \(unsafeRaw: table) (owner_id, wrapped, created_at) VALUES (\(bind: owner.rawValue), \(bind: wrapped), \(bind: nowMillis()))")
        }
        remember(key, for: owner)
        return key
    }

    /// The data key of `owner`.
    func dataKey(for owner: VisitorID) async throws -> SymmetricKey {
        if let cached = cache.withLock({ $0[owner.rawValue] }) { return cached }
        let table = table
        guard
            let wrapped = try await database.read({ store in
                try await store.scalar("SELECT wrapped FROM \(unsafeRaw: table) WHERE owner_id = \(bind: owner.rawValue)", column: "wrapped", as: Data.self)
            })
        else {
            throw ConfidantError(.internalError, "The data key for this visitor no longer exists.")
        }
        let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: wrapKey, authenticating: aad(owner))
        let key = SymmetricKey(data: plain)
        remember(key, for: owner)
        return key
    }

    /// Destroys `owner`'s data key for good (crypto-shredding): every copy of data sealed with
    /// it, in this database, its WAL, old copies and backups of the data store, is unreadable from
    /// now on. The row goes with SQLite's `secure_delete` (its bytes are overwritten) and the key
    /// store's WAL is checkpointed and truncated, so no page of this store holds the key either.
    /// Returns whether a key existed.
    @discardableResult
    func destroyDataKey(for owner: VisitorID) async throws -> Bool {
        let table = table
        let existed = try await database.transaction { store in
            let found = try await store.scalar(
                "SELECT owner_id FROM \(unsafeRaw: table) WHERE owner_id = \(bind: owner.rawValue)", column: "owner_id", as: String.self)
            try await store.run("DELETE FROM \(unsafeRaw: table) WHERE owner_id = \(bind: owner.rawValue)")
            return found != nil
        }
        _ = cache.withLock { $0.removeValue(forKey: owner.rawValue) }
        if let sqlite = database as? SQLiteDatabase { try await sqlite.checkpoint() }
        return existed
    }

    private func remember(_ key: SymmetricKey, for owner: VisitorID) {
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[owner.rawValue] = key
        }
    }

    private func aad(_ owner: VisitorID) -> Data {
        Data("confidant.dek.v1|\(owner)".utf8)
    }
}
