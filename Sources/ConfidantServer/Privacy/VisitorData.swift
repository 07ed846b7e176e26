import ConfidantCore
import Foundation
import Hummingbird
import SQLKit

/// Everything Confidant holds about one visitor, as the right of access and portability (GDPR
/// articles 15 and 20) hands it over: one JSON document.
struct VisitorExport: ResponseEncodable, Sendable {
    struct Visitor: Encodable, Sendable {
        let id: VisitorID
        let siteId: SiteID
        let createdAt: Int64
        let lastSeenAt: Int64
        let name: String?
        let email: String?
        /// The identity the site's backend signed, if any.
        let verifiedIdentity: VerifiedVisitor?
    }

    struct Conversation: Encodable, Sendable {
        /// As staff see it: state, agent, page, language, consent, rating.
        let conversation: ConversationSummary
        /// Every message (staff notes about the visitor included) and event, as delivered.
        let entries: [ServerEnvelope]
    }

    /// Names this document's shape.
    let format = "confidant.visitor-export.v1"
    let exportedAt: Int64
    let visitor: Visitor
    let conversations: [Conversation]
    let offlineMessages: [OfflineMessageView]
    /// Every consent given, with what was shown and any withdrawal.
    let consents: [ConsentRecord]
}

/// What an erasure removed.
struct ErasureReport: ResponseEncodable, Sendable {
    let visitorId: VisitorID
    let conversations: Int
    let messages: Int
    let offlineMessages: Int
    /// Whether the visitor's data key existed and was destroyed.
    let keyDestroyed: Bool
}

/// Who asked for an export or erasure, for the audit log.
enum PrivacyRequester: Sendable {
    case staff(StaffIdentity, address: String)
    /// The visitor, from the widget.
    case visitor(VisitorIdentity)
    case cli
    /// The retention sweep (``RetentionSweeper``).
    case retention

    func event(_ action: String, visitor: VisitorID, details: [String: String]) -> AuditEvent {
        switch self {
        case .staff(let staff, let address):
            AuditEvent(action, by: staff, address: address, target: ("visitor", visitor.rawValue), details: details)
        case .visitor(let identity):
            AuditEvent(
                actorKind: .visitor, actorId: identity.visitorID.rawValue, action: action, targetKind: "visitor", targetId: visitor.rawValue, details: details)
        case .cli:
            AuditEvent(actorKind: .cli, action: action, targetKind: "visitor", targetId: visitor.rawValue, details: details)
        case .retention:
            AuditEvent(actorKind: .system, action: action, targetKind: "visitor", targetId: visitor.rawValue, details: details)
        }
    }
}

/// Export and erasure of a visitor's data: the one place that reads, or removes, everything held
/// about a visitor, for the REST API and the command line alike. Both are audited (without any
/// personal data in the record).
///
/// Erasure is crypto-shredding first: the visitor's data key is destroyed, which makes every copy
/// of their sealed data unreadable (this database, its WAL, replicas, old copies and backups of the
/// data store, which never contain the key store); then their rows are deleted (SQLite overwrites
/// deleted content, `secure_delete`) and the WAL is checkpointed. Should the deletion fail after
/// the key is gone, what is left cannot be read, and erasing again removes it.
struct VisitorData: Sendable {
    let database: any Database
    let keys: KeyStore
    let chat: ChatService

    func export(_ id: VisitorID, for requester: PrivacyRequester) async throws -> VisitorExport {
        guard let record = try await database.read({ try await $0.visitor(id: id) }) else { throw ConfidantError(.notFound, "No such visitor.") }
        let key = try await keys.dataKey(for: id)
        let visitor = VisitorExport.Visitor(
            id: id, siteId: SiteID(trusted: record.siteId), createdAt: record.createdAt, lastSeenAt: record.lastSeenAt,
            name: try record.nameSealed.map { try FieldCipher.open($0, with: key, as: .visitorName(id)) },
            email: try record.emailSealed.map { try FieldCipher.open($0, with: key, as: .visitorEmail(id)) },
            verifiedIdentity: try record.verifiedSealed.flatMap {
                Store.decodeJSON(VerifiedVisitor.self, from: try FieldCipher.open($0, with: key, as: .visitorIdentity(id)))
            })
        var conversations: [VisitorExport.Conversation] = []
        for conversation in try await database.read({ try await $0.conversations(visitor: id) }) {
            let summary = try await database.read { try await chat.summary(of: conversation, for: .staff(.shown), in: $0) }
            let entries = try await chat.timeline(of: conversation, includeInternal: true, after: 0).entries
            conversations.append(.init(conversation: summary, entries: entries.map { ServerEnvelope($0.frame) }))
        }
        let consents = try await database.read { try await $0.consentRecords(visitor: id) }
        var offline: [OfflineMessageView] = []
        for message in try await database.read({ try await $0.offlineMessages(visitor: id) }) {
            offline.append(try await OfflineMessageView(opening: message, keys: keys, personalData: .shown))
        }
        try await database.transaction { store in
            try await store.appendAudit(
                requester.event(
                    "visitor.exported", visitor: id, details: ["conversations": String(conversations.count), "offlineMessages": String(offline.count)]))
        }
        return VisitorExport(exportedAt: nowMillis(), visitor: visitor, conversations: conversations, offlineMessages: offline, consents: consents)
    }

    func erase(_ id: VisitorID, for requester: PrivacyRequester) async throws -> ErasureReport {
        struct Counts: Decodable {
            let conversations: Int
            let messages: Int
            let offline: Int
        }
        let (conversations, counts) = try await database.read { store -> ([ConversationRecord], Counts?) in
            guard try await store.visitor(id: id) != nil else { return ([], nil) }
            let counts = try await store.first(
                """
                SELECT (SELECT COUNT(*) FROM conversations WHERE visitor_id = \(bind: id.rawValue)) AS conversations,
                       (SELECT COUNT(*) FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE visitor_id = \(bind: id.rawValue))) AS messages,
                       (SELECT COUNT(*) FROM offline_messages WHERE visitor_id = \(bind: id.rawValue)) AS offline
                """, as: Counts.self)
            return (try await store.conversations(visitor: id), counts)
        }
        let keyDestroyed = try await keys.destroyDataKey(for: id)
        if keyDestroyed {
            // On its own, at once: should the deletion below fail, the record of the shredding stands.
            try await database.transaction { try await $0.appendAudit(requester.event("key.destroyed", visitor: id, details: [:])) }
        }
        // No data, but a key (a key-store backup restored after an erasure): destroy it anyway.
        guard let counts = counts ?? (keyDestroyed ? Counts(conversations: 0, messages: 0, offline: 0) : nil) else {
            throw ConfidantError(.notFound, "No such visitor.")
        }
        let report = ErasureReport(
            visitorId: id, conversations: counts.conversations, messages: counts.messages, offlineMessages: counts.offline, keyDestroyed: keyDestroyed)
        try await database.transaction { store in
            // Conversations, their messages, events and read markers, and offline messages go
            // with the visitor (ON DELETE CASCADE).
            try await store.run("DELETE FROM visitors WHERE id = \(bind: id.rawValue)")
            try await store.appendAudit(
                requester.event(
                    "visitor.erased", visitor: id,
                    details: [
                        "conversations": String(report.conversations), "messages": String(report.messages),
                        "offlineMessages": String(report.offlineMessages), "keyDestroyed": String(keyDestroyed),
                    ]))
        }
        if let sqlite = database as? SQLiteDatabase { try await sqlite.checkpoint() }
        await chat.forget(visitor: id, conversations: conversations.map(\.conversationID))
        return report
    }

    /// The visitor withdraws consent: every consent in force is marked withdrawn (the record of
    /// having given it stays, as evidence), their open conversations on the site end, and the next
    /// conversation asks again. Audited when there was consent to withdraw.
    func withdrawConsent(of visitor: VisitorIdentity) async throws {
        let withdrawn = try await database.transaction { store in
            let count = try await store.withdrawConsent(visitor: visitor.visitorID, at: nowMillis())
            if count > 0 {
                try await store.appendAudit(
                    PrivacyRequester.visitor(visitor).event("consent.withdrawn", visitor: visitor.visitorID, details: ["records": String(count)]))
            }
            return count
        }
        guard withdrawn > 0 else { return }
        let open = try await database.read { try await $0.openConversations(visitor: visitor.visitorID) }
        for conversation in open where conversation.siteId == visitor.siteID.rawValue {
            try await chat.close(.visitor(visitor), conversation: conversation.conversationID, reply: { _ in })
        }
    }

    /// The visitor deletes one of their closed conversations, when their site allows it: its
    /// messages, events and read markers go with it (SQLite overwrites them, the WAL is
    /// checkpointed). Audited without content. Someone else's conversation looks missing.
    func deleteConversation(_ id: ConversationID, of visitor: VisitorIdentity) async throws {
        try await database.transaction { store in
            guard let conversation = try await store.conversation(id: id), conversation.visitorId == visitor.visitorID.rawValue else {
                throw ConfidantError.conversationNotFound
            }
            guard try await store.site(id: visitor.siteID)?.siteSettings.visitorsMayDeleteConversations == true else {
                throw ConfidantError(.forbidden, "This site does not let visitors delete conversations.")
            }
            guard conversation.conversationState == .closed else { throw ConfidantError(.invalidState, "End the conversation before deleting it.") }
            struct Count: Decodable { let n: Int }
            let messages = try await store.first("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = \(bind: id.rawValue)", as: Count.self)?.n ?? 0
            try await store.run("DELETE FROM conversations WHERE id = \(bind: id.rawValue)")
            try await store.appendAudit(
                AuditEvent(
                    actorKind: .visitor, actorId: visitor.visitorID.rawValue, action: "conversation.deleted", targetKind: "conversation",
                    targetId: id.rawValue, details: ["messages": String(messages)]))
        }
        if let sqlite = database as? SQLiteDatabase { try await sqlite.checkpoint() }
        chat.forget(conversations: [id])
    }
}
