import AsyncAlgorithms
import Crypto
import Foundation
import Logging
import SQLKit
import ServiceLifecycle

/// The audit log's hash chain, which makes tampering evident.
///
/// Every entry has a place (`seq`, 1, 2, 3, … with no gaps), the hash of the entry before it
/// (`prev_hash`; 64 zeros for the first) and its own hash: SHA-256 over a domain-separation tag,
/// its place, the previous hash and each stored field, every value length-prefixed so that no
/// two different entries encode alike. Changing a byte of an entry breaks its hash; deleting one
/// leaves a gap; rewriting the chain from some entry on changes every later hash, which no longer
/// matches the head written outside the database (``AuditHeadWriter``): a file beside the data
/// and the log stream. Deleting the newest entries leaves a chain shorter than that head.
///
/// The chain is not a signature: someone who can write the database, the head file and every copy
/// of the log can rewrite history. Shipping the log stream elsewhere is what keeps a copy of the
/// head out of their reach (docs/operations.md).
enum AuditChain {
    /// The domain-separation tag of this version of the encoding.
    static let domain = "confidant.audit.v1"
    /// The previous hash of the first entry.
    static let genesis = String(repeating: "0", count: 64)

    /// The hash of one entry from its stored fields.
    static func hash(seq: Int64, previous: String, fields: [String?]) -> String {
        var bytes: [UInt8] = []
        func append(_ value: String?) {
            guard let value else {
                bytes += [0xFF, 0xFF, 0xFF, 0xFF]
                return
            }
            let utf8 = Array(value.utf8)
            withUnsafeBytes(of: UInt32(utf8.count).bigEndian) { bytes += $0 }
            bytes += utf8
        }
        append(domain)
        append(String(seq))
        append(previous)
        for field in fields { append(field) }
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The stored fields of an entry, in the order they are hashed.
    static func fields(of record: AuditRecord) -> [String?] {
        [
            record.id, String(record.at), record.actorKind, record.actorId, record.action, record.targetKind, record.targetId, record.address,
            record.outcome, record.details,
        ]
    }

    /// The newest link of the chain, as written outside the database.
    struct Head: Codable, Sendable, Equatable {
        var seq: Int64
        var hash: String
        /// When this head was written (Unix ms).
        var writtenAt: Int64
    }

    /// What verification found.
    struct Report: Sendable {
        /// Entries checked.
        var entries: Int
        /// The newest link in the database.
        var last: Head?
        /// The first problem, naming the entry; nil when the chain is intact.
        var problem: String?
    }

    /// Recomputes the whole chain and compares its end with `head` (when one was written).
    static func verify(_ database: any Database, against head: Head?) async throws -> Report {
        try await database.read { store in
            var report = Report(entries: 0)
            var previous = (seq: Int64(0), hash: genesis)
            let unchained = try await store.scalar("SELECT id FROM audit_events WHERE seq IS NULL OR hash IS NULL LIMIT 1", column: "id", as: String.self)
            if let unchained {
                report.problem = "Entry \(unchained) is outside the chain (its place or hash was removed)."
                return report
            }
            // Pages in order of place, so a large log is never held in memory at once.
            while true {
                let page = try await store.all(
                    "SELECT * FROM audit_events WHERE seq > \(bind: previous.seq) ORDER BY seq LIMIT 1000", as: ChainedAuditRecord.self)
                for row in page {
                    let record = row.record
                    if row.seq != previous.seq + 1 {
                        report.problem =
                            "Entry \(previous.seq + 1) is missing: the chain jumps from \(previous.seq) to \(row.seq) (entry \(row.seq), \(record.id), follows a deleted one)."
                        return report
                    }
                    if row.prevHash != previous.hash {
                        report.problem = "Entry \(row.seq) (\(record.id)) does not follow entry \(previous.seq): its previous hash differs."
                        return report
                    }
                    if hash(seq: row.seq, previous: row.prevHash, fields: fields(of: record)) != row.hash {
                        report.problem = "Entry \(row.seq) (\(record.id), \(record.action)) was altered: its content no longer matches its hash."
                        return report
                    }
                    previous = (row.seq, row.hash)
                    report.entries += 1
                }
                if page.count < 1000 { break }
            }
            report.last = previous.seq == 0 ? nil : Head(seq: previous.seq, hash: previous.hash, writtenAt: 0)
            if let head {
                if head.seq > previous.seq {
                    report.problem =
                        "The newest entries are missing: the chain ends at entry \(previous.seq), but entry \(head.seq) existed when the head was written."
                } else if let hash = try await store.scalar("SELECT hash FROM audit_events WHERE seq = \(bind: head.seq)", column: "hash", as: String.self),
                    hash != head.hash
                {
                    report.problem = "Entry \(head.seq) differs from the head written outside the database: the chain was rewritten from there or before."
                }
            }
            return report
        }
    }

    /// Chains the entries written before the chain existed (an upgrade), in the order they were
    /// written. Does nothing once any entry is chained: from then on an unchained entry is damage
    /// for ``verify`` to report, not something to adopt.
    static func adoptUnchainedEntries(_ database: any Database) async throws {
        try await database.transaction { store in
            guard try await store.scalar("SELECT id FROM audit_events WHERE seq IS NOT NULL LIMIT 1", column: "id", as: String.self) == nil else { return }
            let legacy = try await store.all("SELECT * FROM audit_events ORDER BY at, id", as: AuditRecord.self)
            var previous = genesis
            for (index, record) in legacy.enumerated() {
                let seq = Int64(index + 1)
                let hash = hash(seq: seq, previous: previous, fields: fields(of: record))
                try await store.run(
                    "UPDATE audit_events SET seq = \(bind: seq), prev_hash = \(bind: previous), hash = \(bind: hash) WHERE id = \(bind: record.id)")
                previous = hash
            }
        }
    }

    /// The newest link in the database, if any.
    static func last(in store: Store) async throws -> (seq: Int64, hash: String)? {
        try await store.first("SELECT seq, hash FROM audit_events WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1", as: LinkRow.self).map {
            ($0.seq, $0.hash)
        }
    }

    /// Reads a head file; nil when there is none yet.
    static func readHead(at url: URL) throws -> Head? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONDecoder().decode(Head.self, from: Data(contentsOf: url))
    }

    private struct LinkRow: Decodable {
        let seq: Int64
        let hash: String
    }
}

/// A row of `audit_events` with its place in the chain.
struct ChainedAuditRecord: Decodable, Sendable {
    let record: AuditRecord
    let seq: Int64
    let prevHash: String
    let hash: String

    enum CodingKeys: String, CodingKey {
        case seq, prevHash, hash
    }

    init(from decoder: any Decoder) throws {
        record = try AuditRecord(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int64.self, forKey: .seq)
        prevHash = try container.decode(String.self, forKey: .prevHash)
        hash = try container.decode(String.self, forKey: .hash)
    }
}

/// Writes the chain's newest link outside the database every `interval` (when it moved) and once
/// more when the server stops: to `file` (atomically) and to the log at `notice` level, so that
/// deleting the newest entries, or rewriting the chain, is evident to `confidant audit verify`.
struct AuditHeadWriter: Service {
    let database: any Database
    let file: URL
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var written: Int64 = -1
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                written = try await writeIfMoved(since: written)
            } catch {
                logger.error("Could not write the audit chain head", metadata: ["file": "\(file.path)", "error": "\(error)"])
            }
        }
        // The last word before stopping: entries written since the last tick count too.
        do {
            _ = try await writeIfMoved(since: written)
        } catch {
            logger.error("Could not write the audit chain head", metadata: ["file": "\(file.path)", "error": "\(error)"])
        }
    }

    /// Writes the head when the chain grew past `since`; returns the place written.
    func writeIfMoved(since: Int64) async throws -> Int64 {
        guard let last = try await database.read({ try await AuditChain.last(in: $0) }), last.seq != since else { return since }
        let head = AuditChain.Head(seq: last.seq, hash: last.hash, writtenAt: nowMillis())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await Task.detached { try encoder.encode(head).write(to: file, options: .atomic) }.value
        logger.notice("Audit chain head", metadata: ["auditSeq": "\(head.seq)", "auditHash": "\(head.hash)"])
        return head.seq
    }
}
