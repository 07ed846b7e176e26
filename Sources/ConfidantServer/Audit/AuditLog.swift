import ConfidantCore
import Foundation
import Hummingbird
import Logging
import SQLKit

/// One audited action: who (actor), did what (action), to what (target), from where (address),
/// when (UTC milliseconds), with what outcome. `details` holds non-secret context only: never a
/// password, code, token, message body or card number.
struct AuditEvent: ResponseEncodable, Sendable, Codable, Equatable {
    /// Who acted: a staff member, a visitor, the operator's CLI, an API token, or nobody known
    /// (a failed sign-in names the address, not an account).
    enum ActorKind: String, Sendable, Codable {
        case staff
        case visitor
        case apiToken = "api_token"
        case cli
        /// Confidant's own background work (retention).
        case system
        case anonymous
    }

    /// Whether the action was carried out or refused.
    enum Outcome: String, Sendable, Codable {
        case success
        case failure
    }

    var id: String = UUID().uuidString.lowercased()
    var at: Int64 = nowMillis()
    var actorKind: ActorKind
    var actorId: String?
    var action: String
    var targetKind: String? = nil
    var targetId: String? = nil
    var address: String? = nil
    var outcome: Outcome = .success
    var details: [String: String] = [:]
}

extension AuditEvent {
    /// An event done by a signed-in staff member (or their API token).
    init(
        _ action: String, by staff: StaffIdentity, address: String?, target: (kind: String, id: String)? = nil, outcome: Outcome = .success,
        details: [String: String] = [:]
    ) {
        if case .apiToken(let token) = staff.credential {
            self.init(actorKind: .apiToken, actorId: token, action: action)
            self.details["agentId"] = staff.agentID.rawValue
        } else {
            self.init(actorKind: .staff, actorId: staff.agentID.rawValue, action: action)
        }
        self.targetKind = target?.kind
        self.targetId = target?.id
        self.address = address
        self.outcome = outcome
        self.details.merge(details) { $1 }
    }
}

/// The audit log: the one place sensitive actions are recorded. Every path that changes who may
/// do what, or tries to get in, appends here, inside the transaction of the change when there is
/// one (so a change is never stored without its record). The table is append-only: no code path
/// updates or deletes a row, and every entry is linked into a hash chain (``AuditChain``) that
/// makes any change evident to `confidant audit verify`.
struct AuditLog: Sendable {
    let database: any Database
    let logger: Logger

    /// Records an event in its own transaction. A failure to record is logged, never swallowed
    /// silently, and does not undo the action that already happened.
    func record(_ event: AuditEvent) async {
        do {
            try await database.transaction { try await $0.appendAudit(event) }
        } catch {
            logger.error("Could not write an audit event", metadata: ["action": "\(event.action)", "error": "\(error)"])
        }
    }
}

/// A row of `audit_events`.
struct AuditRecord: Decodable, Sendable {
    let id: String
    let at: Int64
    let actorKind: String
    let actorId: String?
    let action: String
    let targetKind: String?
    let targetId: String?
    let address: String?
    let outcome: String
    let details: String

    /// The event as it was recorded.
    var event: AuditEvent {
        AuditEvent(
            id: id, at: at, actorKind: AuditEvent.ActorKind(rawValue: actorKind) ?? .anonymous, actorId: actorId, action: action, targetKind: targetKind,
            targetId: targetId, address: address, outcome: AuditEvent.Outcome(rawValue: outcome) ?? .failure,
            details: Store.decodeJSON([String: String].self, from: details) ?? [:])
    }
}

extension Store {
    /// Appends an event to the audit log (inside the caller's transaction), as the next link of
    /// the hash chain. Appends are serialized (SQLite has one writer; PostgreSQL takes an
    /// advisory lock until the transaction ends) so that two entries never claim one place.
    func appendAudit(_ event: AuditEvent) async throws {
        if kind == .postgres { try await run("SELECT pg_advisory_xact_lock(\(bind: Int64(0x436F_6E66_0002)))") }
        let previous = try await AuditChain.last(in: self)
        let seq = (previous?.seq ?? 0) + 1
        let prevHash = previous?.hash ?? AuditChain.genesis
        let record = AuditRecord(
            id: event.id, at: event.at, actorKind: event.actorKind.rawValue, actorId: event.actorId, action: event.action, targetKind: event.targetKind,
            targetId: event.targetId, address: event.address, outcome: event.outcome.rawValue, details: Self.json(event.details))
        let hash = AuditChain.hash(seq: seq, previous: prevHash, fields: AuditChain.fields(of: record))
        try await run(
            """
            INSERT INTO audit_events (id, at, actor_kind, actor_id, action, target_kind, target_id, address, outcome, details, seq, prev_hash, hash)
            VALUES (\(bind: record.id), \(bind: record.at), \(bind: record.actorKind), \(bind: record.actorId), \(bind: record.action),
                    \(bind: record.targetKind), \(bind: record.targetId), \(bind: record.address), \(bind: record.outcome), \(bind: record.details),
                    \(bind: seq), \(bind: prevHash), \(bind: hash))
            """)
    }

    /// Events newest first, before `before` (Unix ms) when given, optionally of one action.
    func auditEvents(before: Int64?, action: String?, limit: Int) async throws -> [AuditRecord] {
        try await auditEvents(matching: AuditFilter(action: action, before: before), limit: limit)
    }

    /// Events newest first that match every condition of `filter`, as `Row` (``AuditRecord``, or
    /// ``ChainedAuditRecord`` with their links).
    func auditEvents<Row: Decodable>(matching filter: AuditFilter, limit: Int, as type: Row.Type = AuditRecord.self) async throws -> [Row] {
        var query = sql.select().column("*").from("audit_events")
        if let before = filter.before { query = query.where("at", .lessThan, before) }
        if let from = filter.from { query = query.where("at", .greaterThanOrEqual, from) }
        if let to = filter.to { query = query.where("at", .lessThan, to) }
        if let action = filter.action {
            // `auth.` matches every action under it; anything else matches exactly.
            query = action.hasSuffix(".") ? query.where("action", .like, action + "%") : query.where("action", .equal, action)
        }
        if let actor = filter.actor { query = query.where("actor_id", .equal, actor) }
        if let target = filter.target { query = query.where("target_id", .equal, target) }
        if let outcome = filter.outcome { query = query.where("outcome", .equal, outcome.rawValue) }
        return try await query.orderBy("at", .descending).orderBy("id", .descending).limit(limit)
            .all(decoding: Row.self, keyDecodingStrategy: .convertFromSnakeCase)
    }
}

/// What to look for in the audit log; every condition given must hold.
struct AuditFilter: Sendable {
    var action: String?
    var actor: String?
    var target: String?
    var outcome: AuditEvent.Outcome?
    var from: Int64?
    var to: Int64?
    /// Keyset pagination, newest first.
    var before: Int64?

    /// The filter a request's query asks for (`action`, `actor`, `target`, `outcome`, `from`, `to`, `before`).
    init(query request: Request) throws(ConfidantError) {
        func text(_ name: String) throws(ConfidantError) -> String? { try request.query(name) { (1...64).contains($0.unicodeScalars.count) ? $0 : nil } }
        action = try text("action")
        actor = try text("actor")
        target = try text("target")
        outcome = try request.query("outcome", AuditEvent.Outcome.init(rawValue:))
        from = try request.query("from", Int64.init)
        to = try request.query("to", Int64.init)
        before = try request.query("before", Int64.init)
    }

    init(action: String? = nil, before: Int64? = nil) {
        self.action = action
        self.before = before
    }
}

/// The audit log as CSV (RFC 4180) for spreadsheets, safe from formula injection: a cell that
/// begins with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so that no
/// spreadsheet evaluates text an attacker put into an audited field (an e-mail address typed at
/// sign-in, a user agent).
enum AuditCSV {
    static let header = ["at_utc", "actor_kind", "actor_id", "action", "outcome", "target_kind", "target_id", "address", "details", "seq", "hash"]

    static func cell(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            text = "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    static func document(_ records: [ChainedAuditRecord]) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var lines = [header.joined(separator: ",")]
        for row in records {
            let record = row.record
            let details = (Store.decodeJSON([String: String].self, from: record.details) ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: "; ")
            let fields = [
                formatter.string(from: Date(timeIntervalSince1970: Double(record.at) / 1000)), record.actorKind, record.actorId ?? "", record.action,
                record.outcome, record.targetKind ?? "", record.targetId ?? "", record.address ?? "", details, String(row.seq), row.hash,
            ]
            lines.append(fields.map(cell).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
