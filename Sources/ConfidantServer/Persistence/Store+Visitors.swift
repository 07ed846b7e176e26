import ConfidantCore
import Foundation
import SQLKit

// Visitors, offline messages and canned responses.

/// A row of `visitors`. Name and e-mail are sealed with the visitor's data key.
struct VisitorRecord: Decodable, Sendable {
    let id: String
    let siteId: String
    let nameSealed: Data?
    let emailSealed: Data?
    let createdAt: Int64
    let lastSeenAt: Int64
    /// For a verified visitor: a keyed hash of the site's user id (to find them again).
    var externalIdHash: String? = nil
    /// For a verified visitor: the verified attributes as JSON, sealed with their data key.
    var verifiedSealed: Data? = nil
}

/// A row of `offline_messages`.
struct OfflineMessageRecord: Decodable, Sendable {
    let id: String
    let siteId: String
    let visitorId: String
    let departmentId: String?
    let clientId: String
    let nameSealed: Data?
    let emailSealed: Data?
    let bodySealed: Data
    let createdAt: Int64
    let handledAt: Int64?
    let handledBy: String?
}

/// A row of `canned_responses`. `scope` is a department id, or empty for every department.
struct CannedResponseRecord: Decodable, Sendable {
    let id: String
    let scope: String
    let shortcut: String
    let body: String
    let createdAt: Int64
    let updatedAt: Int64
}

extension Store {
    // MARK: Visitors

    func insertVisitor(id: VisitorID, site: SiteID) async throws {
        let now = nowMillis()
        try await run(
            "INSERT INTO visitors (id, site_id, created_at, last_seen_at) VALUES (\(bind: id.rawValue), \(bind: site.rawValue), \(bind: now), \(bind: now))")
    }

    func visitor(id: VisitorID) async throws -> VisitorRecord? {
        try await first("SELECT * FROM visitors WHERE id = \(bind: id.rawValue)", as: VisitorRecord.self)
    }

    func updateVisitorContact(id: VisitorID, nameSealed: Data?, emailSealed: Data?) async throws {
        if let nameSealed { try await run("UPDATE visitors SET name_sealed = \(bind: nameSealed) WHERE id = \(bind: id.rawValue)") }
        if let emailSealed { try await run("UPDATE visitors SET email_sealed = \(bind: emailSealed) WHERE id = \(bind: id.rawValue)") }
    }

    func touchVisitor(id: VisitorID) async throws {
        try await run("UPDATE visitors SET last_seen_at = \(bind: nowMillis()) WHERE id = \(bind: id.rawValue)")
    }

    // MARK: Offline messages

    func insertOfflineMessage(
        id: OfflineMessageID, site: SiteID, visitor: VisitorID, department: DepartmentID?, clientId: String,
        nameSealed: Data?, emailSealed: Data?, bodySealed: Data
    ) async throws {
        try await run(
            """
            INSERT INTO offline_messages (id, site_id, visitor_id, department_id, client_id, name_sealed, email_sealed, body_sealed, created_at)
            VALUES (\(bind: id.rawValue), \(bind: site.rawValue), \(bind: visitor.rawValue), \(bind: department?.rawValue), \(bind: clientId),
                    \(bind: nameSealed), \(bind: emailSealed), \(bind: bodySealed), \(bind: nowMillis()))
            """)
    }

    func offlineMessage(visitor: VisitorID, clientId: String) async throws -> OfflineMessageRecord? {
        try await first(
            "SELECT * FROM offline_messages WHERE visitor_id = \(bind: visitor.rawValue) AND client_id = \(bind: clientId)", as: OfflineMessageRecord.self)
    }

    /// Every offline message the visitor left, oldest first.
    func offlineMessages(visitor: VisitorID) async throws -> [OfflineMessageRecord] {
        try await all("SELECT * FROM offline_messages WHERE visitor_id = \(bind: visitor.rawValue) ORDER BY created_at, id", as: OfflineMessageRecord.self)
    }

    func offlineMessage(id: OfflineMessageID) async throws -> OfflineMessageRecord? {
        try await first("SELECT * FROM offline_messages WHERE id = \(bind: id.rawValue)", as: OfflineMessageRecord.self)
    }

    func offlineMessages(includeHandled: Bool, limit: Int) async throws -> [OfflineMessageRecord] {
        if includeHandled {
            return try await all("SELECT * FROM offline_messages ORDER BY created_at DESC, id LIMIT \(bind: limit)", as: OfflineMessageRecord.self)
        }
        return try await all(
            "SELECT * FROM offline_messages WHERE handled_at IS NULL ORDER BY created_at DESC, id LIMIT \(bind: limit)", as: OfflineMessageRecord.self)
    }

    func markOfflineMessageHandled(id: OfflineMessageID, by agent: AgentID) async throws {
        try await run("UPDATE offline_messages SET handled_at = \(bind: nowMillis()), handled_by = \(bind: agent.rawValue) WHERE id = \(bind: id.rawValue)")
    }

    // MARK: Canned responses

    func insertCannedResponse(id: CannedResponseID, scope: DepartmentID?, shortcut: String, body: String) async throws {
        let now = nowMillis()
        try await run(
            """
            INSERT INTO canned_responses (id, scope, shortcut, body, created_at, updated_at)
            VALUES (\(bind: id.rawValue), \(bind: scope?.rawValue ?? ""), \(bind: shortcut), \(bind: body), \(bind: now), \(bind: now))
            """)
    }

    func updateCannedResponse(id: CannedResponseID, scope: DepartmentID?, shortcut: String, body: String) async throws -> Bool {
        try await first(
            """
            UPDATE canned_responses SET scope = \(bind: scope?.rawValue ?? ""), shortcut = \(bind: shortcut), body = \(bind: body), updated_at = \(bind: nowMillis())
            WHERE id = \(bind: id.rawValue) RETURNING id
            """, as: IDRow.self) != nil
    }

    func deleteCannedResponse(id: CannedResponseID) async throws -> Bool {
        try await first("DELETE FROM canned_responses WHERE id = \(bind: id.rawValue) RETURNING id", as: IDRow.self) != nil
    }

    func cannedResponse(id: CannedResponseID) async throws -> CannedResponseRecord? {
        try await first("SELECT * FROM canned_responses WHERE id = \(bind: id.rawValue)", as: CannedResponseRecord.self)
    }

    func cannedResponses() async throws -> [CannedResponseRecord] {
        try await all("SELECT * FROM canned_responses ORDER BY shortcut, scope, id", as: CannedResponseRecord.self)
    }
}

extension Store {
    /// The visitor's consent records, newest first.
    func consentRecords(visitor: VisitorID) async throws -> [ConsentRecord] {
        try await all("SELECT * FROM consent_records WHERE visitor_id = \(bind: visitor.rawValue) ORDER BY given_at DESC, id", as: ConsentRecord.self)
    }

    /// The visitor's consent in force (not withdrawn), newest first, if any.
    func activeConsent(visitor: VisitorID) async throws -> ConsentRecord? {
        try await first(
            "SELECT * FROM consent_records WHERE visitor_id = \(bind: visitor.rawValue) AND withdrawn_at IS NULL ORDER BY given_at DESC, id LIMIT 1",
            as: ConsentRecord.self)
    }

    /// Records that the visitor agreed to `consent` as shown in `language`.
    func insertConsent(visitor: VisitorIdentity, _ consent: SiteSettings.Consent, language: String?, at time: Int64) async throws {
        try await run(
            """
            INSERT INTO consent_records (id, visitor_id, site_id, version, text, language, privacy_policy_url, given_at)
            VALUES (\(bind: UUID().uuidString.lowercased()), \(bind: visitor.visitorID.rawValue), \(bind: visitor.siteID.rawValue), \(bind: consent.version),
                    \(bind: consent.text), \(bind: language), \(bind: consent.privacyPolicyUrl), \(bind: time))
            """)
    }

    /// Marks every consent of the visitor in force as withdrawn; returns how many there were.
    func withdrawConsent(visitor: VisitorID, at time: Int64) async throws -> Int {
        try await all(
            "UPDATE consent_records SET withdrawn_at = \(bind: time) WHERE visitor_id = \(bind: visitor.rawValue) AND withdrawn_at IS NULL RETURNING id",
            as: Row.self
        ).count
    }

    private struct Row: Decodable { let id: String }
}
