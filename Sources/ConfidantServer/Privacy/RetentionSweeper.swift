import AsyncAlgorithms
import ConfidantCore
import Foundation
import Logging
import SQLKit
import ServiceLifecycle

/// What one retention run removed.
struct RetentionReport: Sendable, Equatable {
    var conversations = 0
    var messages = 0
    var offlineMessages = 0
    var visitorsErased = 0
}

/// Per-site retention (`settings.retentionDays`): every `interval`, conversations closed longer
/// ago than their site keeps them are deleted (messages, events and read markers with them), as
/// are offline messages left that long ago; a visitor then left with nothing, and not seen for
/// that long, is erased through ``VisitorData`` (their data key destroyed). Each run that removed
/// anything is audited with its counts. `now` is injectable so tests control the clock.
struct RetentionSweeper: Service {
    let database: any Database
    let visitors: VisitorData
    let interval: Duration
    let logger: Logger
    var now: @Sendable () -> Int64 = { nowMillis() }

    func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                _ = try await sweep(now: now())
            } catch {
                logger.error("Retention run failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One run at time `now` (Unix ms).
    func sweep(now: Int64) async throws -> RetentionReport {
        struct Count: Decodable { let n: Int }
        struct Row: Decodable { let id: String }
        var report = RetentionReport()
        var lonely: [VisitorID] = []
        for site in try await database.read({ try await $0.sites() }) {
            guard let days = site.siteSettings.retentionDays else { continue }
            let cutoff = now - Int64(days) * 86_400_000
            try await database.transaction { store in
                let expired: SQLQueryString = "site_id = \(bind: site.id) AND state = 'closed' AND closed_at < \(bind: cutoff)"
                let left: SQLQueryString = "site_id = \(bind: site.id) AND created_at < \(bind: cutoff)"
                report.messages +=
                    try await store.first(
                        "SELECT COUNT(*) AS n FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE \(expired))", as: Count.self)?.n ?? 0
                report.conversations += try await store.first("SELECT COUNT(*) AS n FROM conversations WHERE \(expired)", as: Count.self)?.n ?? 0
                try await store.run("DELETE FROM conversations WHERE \(expired)")
                report.offlineMessages += try await store.first("SELECT COUNT(*) AS n FROM offline_messages WHERE \(left)", as: Count.self)?.n ?? 0
                try await store.run("DELETE FROM offline_messages WHERE \(left)")
                lonely += try await store.all(
                    """
                    SELECT id FROM visitors v WHERE v.site_id = \(bind: site.id) AND v.last_seen_at < \(bind: cutoff)
                      AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = v.id)
                      AND NOT EXISTS (SELECT 1 FROM offline_messages o WHERE o.visitor_id = v.id)
                    """, as: Row.self
                ).map { VisitorID(trusted: $0.id) }
            }
        }
        for visitor in lonely {
            do {
                _ = try await visitors.erase(visitor, for: .retention)
                report.visitorsErased += 1
            } catch let error as ConfidantError where error.code == .notFound {
                // Erased meanwhile by someone else.
            }
        }
        if report != RetentionReport() {
            try await database.transaction { store in
                try await store.appendAudit(
                    AuditEvent(
                        actorKind: .system, action: "retention.run",
                        details: [
                            "conversations": String(report.conversations), "messages": String(report.messages),
                            "offlineMessages": String(report.offlineMessages), "visitorsErased": String(report.visitorsErased),
                        ]))
            }
            logger.info(
                "Retention run", metadata: ["conversations": "\(report.conversations)", "visitorsErased": "\(report.visitorsErased)"])
        }
        return report
    }
}
