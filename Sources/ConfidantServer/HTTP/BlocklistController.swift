import ConfidantCore
import Foundation
import Hummingbird

/// Each site's blocklist (`manageSites`): `GET|POST /v1/sites/{id}/blocklist`,
/// `DELETE /v1/sites/{id}/blocklist/{entryId}`; and banning a conversation's visitor in one action
/// (`chat`, on a conversation one may see): `POST /v1/conversations/{id}/ban`, which also closes
/// the conversation. Every change is audited; ``SpamGuard`` enforces the list.
struct BlocklistController {
    let database: any Database
    let chat: ChatService
    let spam: SpamGuard

    private struct EntryInput: Decodable {
        let kind: BlockKind
        let value: String
        let reason: String?
        /// Hours until the entry expires; none: it stays until removed.
        let expiresInHours: Int?
    }

    private struct BanInput: Decodable {
        let reason: String?
        /// Days the ban lasts (1–3650); none: 30.
        let days: Int?
    }

    struct EntryView: ResponseEncodable {
        let id: String
        let kind: String
        let value: String
        let reason: String
        let createdBy: String?
        let createdAt: Int64
        let expiresAt: Int64?

        init(_ record: BlocklistRecord) {
            id = record.id
            kind = record.kind
            value = record.value
            reason = record.reason
            createdBy = record.createdBy
            createdAt = record.createdAt
            expiresAt = record.expiresAt
        }
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/sites/:id/blocklist") { _, context in
            _ = try context.requireStaff(.manageSites)
            let site = try context.id("id", as: SiteID.self)
            return ListResponse(items: try await database.read { try await $0.blocklist(site: site, now: nowMillis()) }.map(EntryView.init))
        }
        router.post("/sites/:id/blocklist") { request, context -> EditedResponse<EntryView> in
            let staff = try context.requireStaff(.manageSites)
            let site = try context.id("id", as: SiteID.self)
            let input = try await request.decodeJSON(EntryInput.self, context: context)
            let value = try Self.normalize(input.kind, input.value)
            if let hours = input.expiresInHours, !(1...87_600).contains(hours) {
                throw ConfidantError(.invalidRequest, "expiresInHours must be 1 to 87600.")
            }
            let entry = BlocklistRecord(
                id: UUID().uuidString.lowercased(), siteId: site.rawValue, kind: input.kind.rawValue, value: value,
                reason: try TextRules.singleLine(input.reason ?? "Added by hand", field: "reason", maxCharacters: 200),
                createdBy: staff.agentID.rawValue, createdAt: nowMillis(), expiresAt: input.expiresInHours.map { nowMillis() + Int64($0) * 3_600_000 })
            try await add(entry, by: staff, address: context.remoteAddress, action: "site.blocklist.added")
            return EditedResponse(status: .created, response: EntryView(entry))
        }
        router.delete("/sites/:id/blocklist/:entry") { _, context in
            let staff = try context.requireStaff(.manageSites)
            let site = try context.id("id", as: SiteID.self)
            guard let entry = context.parameters.get("entry"), entry.utf8.count <= 64 else { throw ConfidantError(.notFound, "No such entry.") }
            try await database.transaction { store in
                guard try await store.deleteBlocklistEntry(id: entry, site: site) else { throw ConfidantError(.notFound, "No such entry.") }
                try await store.appendAudit(
                    AuditEvent("site.blocklist.removed", by: staff, address: context.remoteAddress, target: ("site", site.rawValue), details: ["entry": entry]))
            }
            spam.invalidate(site: site)
            return Response(status: .noContent)
        }
        router.post("/conversations/:id/ban") { request, context -> EditedResponse<EntryView> in
            let staff = try context.requireStaff(.chat)
            let id = try context.id("id", as: ConversationID.self, notFound: .conversationNotFound)
            let input = try await request.decodeJSON(BanInput.self, context: context)
            let days = input.days ?? 30
            guard (1...3650).contains(days) else { throw ConfidantError(.invalidRequest, "days must be 1 to 3650.") }
            let conversation = try await chat.readAccessibleConversation(id, for: .staff(staff))
            let entry = BlocklistRecord(
                id: UUID().uuidString.lowercased(), siteId: conversation.siteId, kind: BlockKind.visitor.rawValue, value: conversation.visitorId,
                reason: try TextRules.singleLine(input.reason ?? "Banned from a conversation", field: "reason", maxCharacters: 200),
                createdBy: staff.agentID.rawValue, createdAt: nowMillis(), expiresAt: nowMillis() + Int64(days) * 86_400_000)
            try await add(entry, by: staff, address: context.remoteAddress, action: "visitor.banned")
            if conversation.conversationState != .closed {
                do {
                    try await chat.close(.staff(staff), conversation: id, reply: { _ in })
                } catch let error as ConfidantError where error.code == .invalidState || error.code == .forbidden {
                    // Someone else's conversation that this member may not close: the ban stands.
                }
            }
            return EditedResponse(status: .created, response: EntryView(entry))
        }
    }

    private func add(_ entry: BlocklistRecord, by staff: StaffIdentity, address: String, action: String) async throws {
        try await database.transaction { store in
            guard try await store.site(id: SiteID(trusted: entry.siteId)) != nil else { throw ConfidantError(.notFound, "No such site.") }
            let existing = try await store.blocklist(site: SiteID(trusted: entry.siteId), now: nowMillis())
            guard existing.count < 10_000 else { throw ConfidantError(.limitReached, "A blocklist holds at most 10,000 entries.") }
            try await store.insertBlocklistEntry(entry)
            try await store.appendAudit(
                AuditEvent(action, by: staff, address: address, target: ("site", entry.siteId), details: ["kind": entry.kind, "value": entry.value]))
        }
        spam.invalidate(site: SiteID(trusted: entry.siteId))
    }

    /// Checks and normalizes an entry's value for its kind.
    static func normalize(_ kind: BlockKind, _ value: String) throws(ConfidantError) -> String {
        let trimmed = value.trimmingWhitespace()
        switch kind {
        case .address:
            guard let range = NetworkRange(trimmed) else { throw ConfidantError(.invalidRequest, "The value must be an IPv4 or IPv6 address or CIDR network.") }
            return range.description
        case .visitor:
            guard let visitor = VisitorID(trimmed) else { throw ConfidantError(.invalidRequest, "The value must be a visitor id.") }
            return visitor.rawValue
        case .pattern:
            guard (1...100).contains(trimmed.count), trimmed.contains(where: { $0 != "*" && !$0.isWhitespace }) else {
                throw ConfidantError(.invalidRequest, "A pattern has 1–100 characters, not only * and spaces.")
            }
            return try TextRules.singleLine(trimmed, field: "value", maxCharacters: 100)
        }
    }
}
