import ConfidantCore
import Crypto
import Foundation
import SQLKit
import Synchronization

/// What a site's blocklist entry matches.
enum BlockKind: String, Codable, Sendable, CaseIterable {
    /// A client address or CIDR network (IPv4 or IPv6).
    case address
    /// One visitor id.
    case visitor
    /// Words in a visitor's message: case-insensitive, `*` matches any run of characters.
    case pattern
}

/// A row of `blocklist_entries`.
struct BlocklistRecord: Codable, Sendable, Equatable {
    let id: String
    let siteId: String
    let kind: String
    let value: String
    let reason: String
    let createdBy: String?
    let createdAt: Int64
    let expiresAt: Int64?

    var blockKind: BlockKind? { BlockKind(rawValue: kind) }
}

extension Store {
    func insertBlocklistEntry(_ entry: BlocklistRecord) async throws {
        try await run(
            """
            INSERT INTO blocklist_entries (id, site_id, kind, value, reason, created_by, created_at, expires_at)
            VALUES (\(bind: entry.id), \(bind: entry.siteId), \(bind: entry.kind), \(bind: entry.value), \(bind: entry.reason), \(bind: entry.createdBy),
                    \(bind: entry.createdAt), \(bind: entry.expiresAt))
            """)
    }

    /// The entries of a site that have not expired at `now`.
    func blocklist(site: SiteID, now: Int64) async throws -> [BlocklistRecord] {
        try await all(
            """
            SELECT * FROM blocklist_entries WHERE site_id = \(bind: site.rawValue) AND (expires_at IS NULL OR expires_at > \(bind: now))
            ORDER BY created_at DESC, id
            """, as: BlocklistRecord.self)
    }

    func deleteBlocklistEntry(id: String, site: SiteID) async throws -> Bool {
        try await first(
            "DELETE FROM blocklist_entries WHERE id = \(bind: id) AND site_id = \(bind: site.rawValue) RETURNING id", as: IDRow.self) != nil
    }
}

/// The one place that keeps spam and unwanted visitors out, asked before a visitor's frame is
/// handled (``SocketSession``):
///
/// - **Blocklists**: per site, addresses and networks, visitor ids, and patterns, each with an
///   optional expiry. A blocked visitor gets the neutral `chat_unavailable` for opening a
///   conversation, sending a message or leaving an offline message. Nothing is stored, announced
///   or queued. Patterns are globs (`*` only), matched by a linear, bounded matcher that no
///   input can send into catastrophic backtracking.
/// - **Duplicates**: the same text from the same visitor again within ``duplicateWindow``
///   (`duplicate_message`).
/// - **Links**: more than ``linksPerMessage`` links in one message from a visitor whose identity
///   the site did not sign (`too_many_links`).
/// - **Forms**: a filled honeypot field, or a pre-chat or offline form sent faster than
///   ``minimumFillTime`` after it appeared, is refused like a blocked visitor.
final class SpamGuard: Sendable {
    let database: any Database
    /// Links allowed in one message of an unverified visitor.
    let linksPerMessage: Int
    /// Milliseconds a form must have been on screen before it is sent.
    let minimumFillTime: Int
    static let duplicateWindow: Int64 = 60_000
    /// Blocklists are cached this long (a change on this node applies at once).
    static let cacheLifetime: Int64 = 2_000

    /// A blocklist entry ready to match: its network parsed once, when the list is loaded, not
    /// for every message.
    private struct Rule: Sendable {
        let kind: BlockKind
        let value: String
        let network: NetworkRange?
        let expiresAt: Int64?
    }

    private let cache = Mutex<[SiteID: (rules: [Rule], loadedAt: Int64)]>([:])
    private let recent = Mutex<[VisitorID: [(digest: SHA256Digest, clientId: String, at: Int64)]]>([:])

    private let metrics: ProtectionMetrics?

    init(database: any Database, linksPerMessage: Int, minimumFillTime: Int, metrics: ProtectionMetrics? = nil) {
        self.database = database
        self.linksPerMessage = linksPerMessage
        self.minimumFillTime = minimumFillTime
        self.metrics = metrics
    }

    static let unavailable = ConfidantError(.chatUnavailable, "Chat is not available right now.")

    /// The error to refuse `frame` of `visitor` from `address` with, or nil to let it through.
    func check(_ frame: ClientFrame, from visitor: VisitorIdentity, address: String) async throws -> ConfidantError? {
        let (refusal, reason) = try await decide(frame, from: visitor, address: address)
        if let reason { metrics?.spamRefused(reason) }
        return refusal
    }

    private func decide(_ frame: ClientFrame, from visitor: VisitorIdentity, address: String) async throws -> (ConfidantError?, String?) {
        let message: (body: String, clientId: String)?
        switch frame {
        case .openConversation(_, _, _, _, _, _, let form):
            if refusesForm(form) { return (Self.unavailable, "form") }
            message = nil
        case .leaveOfflineMessage(let clientId, _, _, _, let text, let form):
            if refusesForm(form) { return (Self.unavailable, "form") }
            message = (text, clientId)
        case .sendMessage(_, let clientId, let text, _):
            message = (text, clientId)
        default:
            return (nil, nil)
        }
        for rule in try await blocklist(of: visitor.siteID) {
            switch rule.kind {
            case .address: if rule.network?.contains(address) == true { return (Self.unavailable, "blocklist") }
            case .visitor: if rule.value == visitor.visitorID.rawValue { return (Self.unavailable, "blocklist") }
            case .pattern: if let message, Self.matches(pattern: rule.value, in: message.body) { return (Self.unavailable, "blocklist") }
            }
        }
        guard let message else { return (nil, nil) }
        if !visitor.verified, Self.links(in: message.body) > linksPerMessage {
            return (ConfidantError(.tooManyLinks, "At most \(linksPerMessage) links in one message."), "links")
        }
        if isDuplicate(message.body, clientId: message.clientId, from: visitor.visitorID) {
            return (ConfidantError(.duplicateMessage, "You already sent this message."), "duplicate")
        }
        return (nil, nil)
    }

    /// Forgets the cached blocklist of a site (after a change on this node).
    func invalidate(site: SiteID) {
        _ = cache.withLock { $0.removeValue(forKey: site) }
    }

    private func blocklist(of site: SiteID) async throws -> [Rule] {
        let now = nowMillis()
        if let cached = cache.withLock({ $0[site] }), now - cached.loadedAt < Self.cacheLifetime {
            return cached.rules.filter { $0.expiresAt.map { $0 > now } ?? true }
        }
        let rules = try await database.read { try await $0.blocklist(site: site, now: now) }.compactMap { entry in
            entry.blockKind.map { Rule(kind: $0, value: entry.value, network: $0 == .address ? NetworkRange(entry.value) : nil, expiresAt: entry.expiresAt) }
        }
        cache.withLock { $0[site] = (rules, now) }
        return rules
    }

    private func refusesForm(_ form: FormSignals?) -> Bool {
        guard let form else { return false }
        if let honeypot = form.honeypot, !honeypot.isEmpty { return true }
        if let fillMs = form.fillMs, fillMs < minimumFillTime { return true }
        return false
    }

    /// Records the message and says whether the same text came from this visitor within the
    /// window under another client id. A resend with the same client id is not a duplicate: it
    /// is the client retrying, and the chat answers it with the original acknowledgement.
    private func isDuplicate(_ body: String, clientId: String, from visitor: VisitorID) -> Bool {
        let now = nowMillis()
        let digest = SHA256.hash(data: Data(body.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ").utf8))
        return recent.withLock { recent in
            var kept = (recent[visitor] ?? []).filter { now - $0.at < Self.duplicateWindow }
            let earlier = kept.first { $0.digest == digest }
            let seen = earlier != nil && earlier?.clientId != clientId
            if earlier == nil { kept.append((digest, clientId, now)) }
            recent[visitor] = Array(kept.suffix(20))
            if recent.count > 50_000 { recent = recent.filter { !$0.value.isEmpty && now - $0.value.last!.at < Self.duplicateWindow } }
            return seen
        }
    }

    /// How many links a text holds (`http://`, `https://`, `www.`).
    static func links(in text: String) -> Int {
        let lowered = text.lowercased()
        return ["http://", "https://", "www."].reduce(0) { count, marker in count + lowered.components(separatedBy: marker).count - 1 }
            - (lowered.components(separatedBy: "://www.").count - 1)
    }

    /// Whether the glob `pattern` (`*` matches any run, nothing else is special) matches anywhere
    /// in `text`, ignoring case. Runs in O(|pattern| × |text|) time at worst, with no recursion.
    static func matches(pattern: String, in text: String) -> Bool {
        let p = Array(pattern.lowercased())
        let t = Array(text.lowercased())
        // Anchored glob "*pattern*" with the classic two-pointer wildcard match.
        let glob: [Character] = ["*"] + p + ["*"]
        var (i, j) = (0, 0)
        var star = -1
        var mark = 0
        while j < t.count {
            if i < glob.count && glob[i] != "*" && glob[i] == t[j] {
                i += 1
                j += 1
            } else if i < glob.count && glob[i] == "*" {
                star = i
                mark = j
                i += 1
            } else if star >= 0 {
                i = star + 1
                mark += 1
                j = mark
            } else {
                return false
            }
        }
        while i < glob.count && glob[i] == "*" { i += 1 }
        return i == glob.count
    }
}
