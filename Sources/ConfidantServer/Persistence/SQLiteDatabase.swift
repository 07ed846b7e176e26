import Foundation
public import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import ServiceLifecycle
import Synchronization

/// The embedded store: one SQLite file in WAL mode with a single writer and a few readers.
///
/// Durability: `synchronous=FULL` in WAL mode syncs the WAL at every commit, so a transaction that
/// returned survives a killed process and a power loss. All writes go through one connection,
/// one at a time, with commits shared by bursts of writes (``GroupCommit``): SQLite allows one
/// writer anyway, its busy handler would spin, and a WAL sync per write would cap throughput.
public final class SQLiteDatabase: Database {
    public let kind = DatabaseKind.sqlite
    /// The database file.
    public let path: String
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let nextReader = Atomic<Int>(0)
    private let writes = GroupCommit()
    private let threadPool: NIOThreadPool

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection], threadPool: NIOThreadPool) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.threadPool = threadPool
    }

    /// Opens (creating with mode 0600 if needed) the database file at `path`.
    public static func open(path: String, readerCount: Int = 2, logger: Logger) async throws -> SQLiteDatabase {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw ConfigurationError("Cannot create the database file \(path).")
            }
        }
        // SQLite calls are blocking: they run on a pool of their own so that they never stall the
        // event loops or wait behind bcrypt on the shared pool.
        let threadPool = NIOThreadPool(numberOfThreads: readerCount + 1)
        threadPool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        func connect(readOnly: Bool) async throws -> SQLiteConnection {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoop).get()
            let db = connection.sql()
            try await db.raw("PRAGMA busy_timeout = 10000").run()
            try await db.raw("PRAGMA foreign_keys = ON").run()
            try await db.raw("PRAGMA synchronous = FULL").run()
            try await db.raw("PRAGMA secure_delete = ON").run()
            if readOnly { try await db.raw("PRAGMA query_only = ON").run() }
            return connection
        }
        let writer = try await connect(readOnly: false)
        try await writer.sql().raw("PRAGMA journal_mode = WAL").run()
        var readers: [SQLiteConnection] = []
        for _ in 0..<max(1, readerCount) { readers.append(try await connect(readOnly: true)) }
        return SQLiteDatabase(path: path, writer: writer, readers: readers, threadPool: threadPool)
    }

    public func read<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T {
        let index = nextReader.add(1, ordering: .relaxed).newValue % readers.count
        return try await body(Store(sql: readers[index].sql(queryLogLevel: nil), kind: .sqlite))
    }

    public func transaction<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T {
        try await writes.transaction(on: Store(sql: writer.sql(queryLogLevel: nil), kind: .sqlite), body)
    }

    /// Moves the WAL's content into the main file and truncates the WAL.
    public func checkpoint() async throws {
        try await writes.exclusive(on: Store(sql: writer.sql(queryLogLevel: nil), kind: .sqlite)) {
            try await writer.sql().raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
        }
    }

    /// Keeps the connections open until graceful shutdown or cancellation, then closes them.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    private func close() async {
        for connection in readers + [writer] { try? await connection.close().get() }
        try? await threadPool.shutdownGracefully()
    }
}
