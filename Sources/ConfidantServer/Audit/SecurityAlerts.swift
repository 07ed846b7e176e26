import AsyncAlgorithms
import ConfidantCore
import Foundation
import Logging
import SQLKit
import ServiceLifecycle

/// The insider-threat rules, read over the audit log. Because every sensitive action of every
/// path (routes, frames, the CLI, background jobs) lands in the audit log, reading the log is the
/// one place these rules need: nothing can open a transcript or export data around them.
struct AlertRules: Sendable {
    /// More than this many transcripts opened by one actor within ``transcriptWindow`` raise one alert.
    let transcriptThreshold: Int
    /// The sliding window, in milliseconds.
    let transcriptWindow: Int64

    /// The rules `configuration` sets.
    init(_ configuration: ConfidantConfiguration) {
        self.init(transcriptThreshold: configuration.alertTranscriptThreshold, transcriptWindow: configuration.alertTranscriptWindow.milliseconds)
    }

    init(transcriptThreshold: Int, transcriptWindow: Int64) {
        self.transcriptThreshold = transcriptThreshold
        self.transcriptWindow = transcriptWindow
    }

    /// Actions that export data in bulk: each raises an alert, whoever did it.
    static let exportActions: Set<String> = ["audit.exported", "visitor.exported"]
    static let transcriptAction = "transcript.opened"

    /// What a rule found in one entry.
    struct Finding: Sendable {
        /// `insider.export` or `insider.transcripts`.
        let kind: String
        /// For `insider.transcripts`: how many the actor opened within the window.
        let transcripts: Int?
    }

    /// Whether any rule looks at `record`; the others are passed over without a query.
    func watches(_ record: AuditRecord) -> Bool {
        record.outcome == AuditEvent.Outcome.success.rawValue
            && (record.action == Self.transcriptAction || Self.exportActions.contains(record.action))
    }

    /// What the rules find in a watched `entry`, read only.
    func finding(for entry: ChainedAuditRecord, in store: Store) async throws -> Finding? {
        let record = entry.record
        if Self.exportActions.contains(record.action) { return Finding(kind: "insider.export", transcripts: nil) }
        guard record.action == Self.transcriptAction, let actor = record.actorId else { return nil }
        struct Count: Decodable { let n: Int }
        let count =
            try await store.first(
                """
                SELECT COUNT(*) AS n FROM audit_events WHERE actor_id = \(bind: actor) AND action = \(bind: record.action)
                AND outcome = \(bind: record.outcome) AND at > \(bind: record.at - transcriptWindow) AND seq <= \(bind: entry.seq)
                """, as: Count.self)?.n ?? 0
        // Exactly at the crossing: one alert per burst, not one per transcript after it.
        return count == transcriptThreshold + 1 ? Finding(kind: "insider.transcripts", transcripts: count) : nil
    }

    /// One sentence saying what `finding` in `record` means, naming the actor as `who`.
    func summary(of finding: Finding, in record: AuditRecord, who: String) -> String {
        if let count = finding.transcripts {
            return "\(who) opened \(count) transcripts within \(transcriptWindow / 60_000) minutes (more than \(transcriptThreshold))."
        }
        let what = record.action == "audit.exported" ? "the audit log" : "everything held about visitor \(record.targetId ?? "?")"
        return "\(who) exported \(what)."
    }
}

/// Reads the audit log as it grows, raises the alerts ``AlertRules`` find, tells staff who manage
/// security at once (`security.alert` on their sockets) and hands alerts to the webhook.
///
/// Where it has read up to is kept in the database, so a restart neither repeats nor skips
/// entries. An alert's id is the id of the audit entry that set it off: nodes reading the same
/// log raise each alert once (the second insert finds it there).
struct SecurityAlertMonitor: Service {
    let database: any Database
    let hub: Hub
    let rules: AlertRules
    let webhook: AlertWebhook?
    let interval: Duration
    let logger: Logger

    static let cursorKey = "alerts.cursor"

    func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try await scan()
                try await webhook?.deliverDue(database)
            } catch {
                logger.error("Security alert check failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Reads the entries written since the last scan and raises their alerts; returns them.
    @discardableResult
    func scan() async throws -> [SecurityAlertPayload] {
        var cursor = try await startingPoint()
        var raised: [SecurityAlertPayload] = []
        while true {
            let page = try await database.read {
                try await $0.all("SELECT * FROM audit_events WHERE seq > \(bind: cursor) ORDER BY seq LIMIT 500", as: ChainedAuditRecord.self)
            }
            // Only entries a rule watches cost a query, and only a finding a write.
            for entry in page where rules.watches(entry.record) {
                guard let finding = try await database.read({ try await rules.finding(for: entry, in: $0) }) else { continue }
                if let alert = try await raise(finding, for: entry) { raised.append(alert) }
            }
            guard let last = page.last?.seq else { break }
            cursor = last
            try await database.transaction { try await $0.setSecuritySetting(Self.cursorKey, String(last)) }
            if page.count < 500 { break }
        }
        for alert in raised {
            logger.warning("Security alert", metadata: ["alert": "\(alert.id)", "kind": "\(alert.kind)", "summary": "\(alert.summary)"])
            await hub.publish(.staffOnly(.frame(FrameCodec.encode(ServerEnvelope(.securityAlert(alert))))), to: [.securityAlerts])
        }
        return raised
    }

    /// Where reading resumes. The first time (a new install, or an upgrade), reading starts after
    /// the newest entry older than the transcript window, so that alerts neither miss what
    /// happened just before the start nor fire for old history.
    private func startingPoint() async throws -> Int64 {
        try await database.read { store in
            if let saved = try await store.securitySetting(Self.cursorKey).flatMap(Int64.init) { return saved }
            let since = nowMillis() - rules.transcriptWindow
            let before = try await store.scalar("SELECT MAX(seq) AS s FROM audit_events WHERE at < \(bind: since)", column: "s", as: Int64?.self)
            return (before ?? nil) ?? 0
        }
    }

    /// Stores and audits the alert of `finding` in `entry`, unless it was raised already.
    private func raise(_ finding: AlertRules.Finding, for entry: ChainedAuditRecord) async throws -> SecurityAlertPayload? {
        try await database.transaction { store in
            let record = entry.record
            let agentID = record.actorKind == AuditEvent.ActorKind.apiToken.rawValue ? record.event.details["agentId"] : record.actorId
            var name: String?
            if let agent = agentID.flatMap(AgentID.init) { name = try await store.agent(id: agent)?.displayName }
            let who = name ?? record.actorId.map { "\(record.actorKind) \($0)" } ?? record.actorKind
            let alert = SecurityAlertPayload(
                id: record.id, kind: finding.kind, raisedAt: nowMillis(), actorKind: record.actorKind, actorId: record.actorId, actorName: name,
                summary: rules.summary(of: finding, in: record, who: who), auditSeq: entry.seq)
            guard try await store.insertSecurityAlert(alert) else { return nil }
            try await store.appendAudit(
                AuditEvent(
                    actorKind: .system, actorId: nil, action: "alert.raised", targetKind: "alert", targetId: alert.id,
                    details: ["kind": finding.kind, "actor": record.actorId ?? record.actorKind]))
            return alert
        }
    }
}

extension Store {
    /// Stores a new alert; false when one with its id exists (another node raised it).
    func insertSecurityAlert(_ alert: SecurityAlertPayload) async throws -> Bool {
        try await first(
            """
            INSERT INTO security_alerts (id, kind, raised_at, actor_kind, actor_id, actor_name, summary, audit_seq)
            VALUES (\(bind: alert.id), \(bind: alert.kind), \(bind: alert.raisedAt), \(bind: alert.actorKind), \(bind: alert.actorId),
                    \(bind: alert.actorName), \(bind: alert.summary), \(bind: alert.auditSeq))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """, as: AlertID.self) != nil
    }

    /// Alerts newest first; with `openOnly`, those nobody acknowledged.
    func securityAlerts(openOnly: Bool, limit: Int) async throws -> [SecurityAlertPayload] {
        let condition: SQLQueryString = openOnly ? "WHERE acknowledged_at IS NULL" : ""
        return try await all("SELECT * FROM security_alerts \(condition) ORDER BY raised_at DESC, id LIMIT \(bind: limit)", as: SecurityAlertPayload.self)
    }

    /// Marks an alert acknowledged; false when there is no such alert or it was acknowledged already.
    func acknowledgeSecurityAlert(id: String, by agent: AgentID, at time: Int64) async throws -> Bool {
        try await first(
            """
            UPDATE security_alerts SET acknowledged_by = \(bind: agent.rawValue), acknowledged_at = \(bind: time)
            WHERE id = \(bind: id) AND acknowledged_at IS NULL RETURNING id
            """, as: AlertID.self) != nil
    }

    private struct AlertID: Decodable { let id: String }
}
