import ConfidantCore
import Crypto
import Foundation
import Logging
import Synchronization

/// Sends a reply to the client whose frame caused an operation; called after the commit and
/// before the fan-out, so a client sees its answer before the effects.
typealias Reply = @Sendable (ServerFrame) -> Void

/// Settings of the chat core.
struct ChatSettings: Sendable {
    /// A staff socket's presence row older than this no longer counts as online.
    var presenceTTL: Duration
    /// How often clients should ping (announced in `welcome`).
    var heartbeatInterval: Duration
    /// This process's id in `agent_presence`.
    var nodeID: String
    /// Days after closing that agents keep access to a conversation (0: always); supervisors,
    /// admins, owners and auditors keep it.
    var agentClosedAccessDays: Int = 0

    init(presenceTTL: Duration, heartbeatInterval: Duration, nodeID: String, agentClosedAccessDays: Int = 0) {
        self.presenceTTL = presenceTTL
        self.heartbeatInterval = heartbeatInterval
        self.nodeID = nodeID
        self.agentClosedAccessDays = agentClosedAccessDays
    }

    /// The settings a configuration asks for.
    init(_ configuration: ConfidantConfiguration) {
        self.init(
            presenceTTL: configuration.presenceTTL, heartbeatInterval: configuration.heartbeatInterval, nodeID: configuration.nodeID,
            agentClosedAccessDays: configuration.agentClosedAccessDays)
    }

    /// For an agent: conversations closed before this time (Unix ms) are out of reach; nil for
    /// everyone else, or when access does not expire.
    func closedAccessCutoff(for staff: StaffIdentity, now: Int64 = nowMillis()) -> Int64? {
        guard staff.role == .agent, agentClosedAccessDays > 0 else { return nil }
        return now - Int64(agentClosedAccessDays) * 86_400_000
    }
}

/// The one place where chat happens. Every visitor and agent action, whatever path it arrives
/// by, goes through here in the same order: authorization (object-level, deny by default) →
/// validation of state → (redaction and spam rules, issue #7/#6) → one transaction that assigns
/// the sequence number and stores the sealed body → reply → fan-out through the ``Hub``.
///
/// Operations on one conversation are serialized on this node by a keyed lock held from the
/// transaction through the fan-out, so clients receive a conversation's entries in sequence order.
final class ChatService: Sendable {
    let database: any Database
    let keys: KeyStore
    let hub: Hub
    let settings: ChatSettings
    let logger: Logger
    let conversationLocks = KeyedLock<ConversationID>()
    /// Each conversation's visitor (which never changes), so sending a message needs no read
    /// before its transaction to find the sealing key.
    private let visitorOfConversation = Mutex<[ConversationID: VisitorID]>([:])
    /// Each site's redactor (its patterns compiled), so a message does not read and parse its
    /// site's settings. Kept ``redactorLifetime`` ms: a pattern change applies within that, on
    /// every node.
    private let redactors = Mutex<[String: (redactor: Redactor, loadedAt: Int64)]>([:])
    static let redactorLifetime: Int64 = 2_000
    private static let visitorCacheLimit = 50_000
    /// Queue changes waiting to be announced, coalesced.
    let queueAnnouncements = QueueAnnouncements()

    init(database: any Database, keys: KeyStore, hub: Hub, settings: ChatSettings, logger: Logger) {
        self.database = database
        self.keys = keys
        self.hub = hub
        self.settings = settings
        self.logger = logger
    }

    // MARK: Authorization

    /// Whether `principal` may see `conversation`: visitors their own, staff per ``AccessPolicy``.
    func mayAccess(_ principal: Principal, _ conversation: ConversationRecord) -> Bool {
        switch principal {
        case .visitor(let visitor):
            conversation.visitorId == visitor.visitorID.rawValue && conversation.siteId == visitor.siteID.rawValue
        case .staff(let staff):
            staff.allows(.chat) && staff.canAccess(department: conversation.departmentID, agent: conversation.agentID)
                && !(conversation.conversationState == .closed && (conversation.closedAt ?? .max) < (settings.closedAccessCutoff(for: staff) ?? .min))
        }
    }

    /// Loads a conversation `principal` may access, or throws the same not-found error whether
    /// it is missing or forbidden (no existence oracle).
    func accessibleConversation(_ id: ConversationID, for principal: Principal, in store: Store) async throws -> ConversationRecord {
        guard let conversation = try await store.conversation(id: id), mayAccess(principal, conversation) else {
            throw ConfidantError.conversationNotFound
        }
        return conversation
    }

    /// Reads a conversation outside any transaction (to fetch its data key before one starts:
    /// on PostgreSQL the key store shares the connection pool).
    func readAccessibleConversation(_ id: ConversationID, for principal: Principal) async throws -> ConversationRecord {
        try await database.read { try await accessibleConversation(id, for: principal, in: $0) }
    }

    // MARK: Messages

    /// Stores a message and acknowledges it. A resend with the same client id returns the
    /// original ack (`duplicate: true`) and stores nothing. The ack is sent only after the commit.
    func sendMessage(
        _ principal: Principal, conversation id: ConversationID, clientId: String, body: String, visibility: Visibility,
        origin: Int?, reply: Reply
    ) async throws {
        switch principal {
        case .visitor:
            guard visibility == .public else { throw ConfidantError(.forbidden, "Visitors cannot write internal notes.") }
        case .staff(let staff):
            try staff.require(.chat)
        }
        let key = try await sealingKey(for: id, by: principal)
        if case .staff(let staff) = principal, visibility == .public, let secret = SecretRequestGuard.request(in: body) {
            try await guardReply(asking: secret, from: staff, in: id, key: key)
        }
        try await conversationLocks.withLock(id) {
            let (ack, stored) = try await database.transaction { store -> (MessageAck, (MessagePayload, ConversationRecord)?) in
                let conversation = try await accessibleConversation(id, for: principal, in: store)
                // Card numbers and the like are masked before anything else sees the text: the
                // original is never stored, sent, logged or compared.
                let (body, marks) = try await redactor(of: conversation.siteId, in: store).redact(body)
                if let existing = try await store.message(conversation: id, authorKind: principal.authorKind, authorId: principal.authorID, clientId: clientId)
                {
                    let existingID = MessageID(trusted: existing.id)
                    let existingBody = try FieldCipher.open(existing.bodySealed, with: key, as: .messageBody(existingID))
                    guard existingBody == body, existing.visibility == visibility.rawValue else {
                        throw ConfidantError(.clientIDReused, "This clientId was already used for a different message.")
                    }
                    let ack = MessageAck(
                        conversationId: id, clientId: clientId, messageId: existingID, seq: existing.seq, createdAt: existing.createdAt, duplicate: true)
                    return (ack, nil)
                }
                guard conversation.conversationState.isOpen else { throw ConfidantError(.invalidState, "The conversation is closed.") }
                if case .staff(let staff) = principal, visibility == .public, conversation.agentID != staff.agentID {
                    throw ConfidantError(.invalidState, "Only the assigned agent can reply; accept the conversation first, or add an internal note.")
                }
                let seq = try await store.nextSequence(conversation: id)
                let messageID = MessageID()
                let now = nowMillis()
                let sealed = try FieldCipher.seal(body, with: key, as: .messageBody(messageID))
                try await store.insertMessage(
                    id: messageID, conversation: id, seq: seq, clientId: clientId, authorKind: principal.authorKind, authorId: principal.authorID,
                    visibility: visibility, bodySealed: sealed, redactions: marks, at: now
                )
                let payload = MessagePayload(
                    conversationId: id, id: messageID, seq: seq, clientId: clientId, author: principal.author, body: body, visibility: visibility,
                    createdAt: now, redactions: marks.isEmpty ? nil : marks
                )
                let ack = MessageAck(
                    conversationId: id, clientId: clientId, messageId: messageID, seq: seq, createdAt: now, duplicate: false,
                    redacted: marks.isEmpty ? nil : (body, marks))
                return (ack, (payload, conversation))
            }
            reply(.messageAck(ack))
            if let (payload, conversation) = stored {
                await publish(.message(payload), of: conversation, except: origin)
            }
        }
    }

    /// The guard against asking visitors for secrets: a public reply that asks for a password,
    /// PIN, card number, CVV or one-time code is held (`secret_requested`) unless a supervisor
    /// granted this conversation an exception, which it uses up. A held reply leaves an internal
    /// note in the conversation, which staff who may see it (its supervisors included) read,
    /// and an audit entry; the reply itself is stored nowhere.
    private func guardReply(asking secret: SecretRequestGuard.Secret, from staff: StaffIdentity, in id: ConversationID, key: SymmetricKey) async throws {
        let kind = secret.rawValue.replacingOccurrences(of: "_", with: " ")
        let held = try await conversationLocks.withLock(id) {
            try await database.transaction { store -> (MessagePayload, ConversationRecord)? in
                let conversation = try await accessibleConversation(id, for: .staff(staff), in: store)
                if try await store.consumeGuardException(conversation: id, now: nowMillis()) {
                    try await store.appendAudit(
                        AuditEvent("guard.overridden", by: staff, address: nil, target: ("conversation", id.rawValue), details: ["secret": secret.rawValue]))
                    return nil
                }
                let seq = try await store.nextSequence(conversation: id)
                let noteID = MessageID()
                let now = nowMillis()
                let note =
                    "Held a reply by \(staff.displayName) that asked the visitor for a \(kind). Visitors are never asked for passwords, PINs, full card numbers, CVVs or one-time codes in chat; a supervisor can allow one such reply."
                try await store.insertMessage(
                    id: noteID, conversation: id, seq: seq, clientId: "guard-\(noteID)", authorKind: .system, authorId: "guard", visibility: .internal,
                    bodySealed: try FieldCipher.seal(note, with: key, as: .messageBody(noteID)), at: now)
                try await store.appendAudit(
                    AuditEvent(
                        "guard.held", by: staff, address: nil, target: ("conversation", id.rawValue), outcome: .failure, details: ["secret": secret.rawValue]))
                let payload = MessagePayload(
                    conversationId: id, id: noteID, seq: seq, clientId: "guard-\(noteID)", author: .system, body: note, visibility: .internal, createdAt: now)
                return (payload, conversation)
            }
        }
        guard let (note, conversation) = held else { return }
        await publish(.message(note), of: conversation)
        // Supervisors who may see the conversation hear at once, watching or not.
        let alert = FrameCodec.encode(ServerEnvelope(.guardHeld(conversationId: id, agent: staff.author, secret: secret.rawValue)))
        await hub.publish(.staffOnly(.frame(alert)), to: [.supervision(conversation.departmentID), .allSupervision])
        throw ConfidantError(
            .secretRequested,
            "Held: this reply asks the visitor for a \(kind). We never ask for passwords, PINs, full card numbers, CVVs or one-time codes in chat; rephrase it, or ask a supervisor to allow one such reply."
        )
    }

    /// Lets the conversation's next guarded reply through once, within 10 minutes (a
    /// supervisor's decision, audited).
    func allowGuardedReply(in id: ConversationID, by staff: StaffIdentity, address: String) async throws -> Int64 {
        try staff.require(.monitor)
        let expiresAt = nowMillis() + 600_000
        try await database.transaction { store in
            _ = try await accessibleConversation(id, for: .staff(staff), in: store)
            try await store.grantGuardException(conversation: id, by: staff.agentID, expiresAt: expiresAt)
            try await store.appendAudit(AuditEvent("guard.exception.granted", by: staff, address: address, target: ("conversation", id.rawValue)))
        }
        return expiresAt
    }

    /// The data key that seals a conversation's entries: its visitor's. A visitor's is their own
    /// (the transaction then checks the conversation is theirs); staff look the visitor up once.
    private func sealingKey(for id: ConversationID, by principal: Principal) async throws -> SymmetricKey {
        if case .visitor(let visitor) = principal { return try await keys.dataKey(for: visitor.visitorID) }
        if let visitor = visitorOfConversation.withLock({ $0[id] }) { return try await keys.dataKey(for: visitor) }
        let visitor = try await readAccessibleConversation(id, for: principal).visitorID
        visitorOfConversation.withLock { cache in
            if cache.count >= Self.visitorCacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[id] = visitor
        }
        return try await keys.dataKey(for: visitor)
    }

    /// Forgets an erased visitor: their conversations leave the cache, and their open sockets
    /// close (4401) so that no screen keeps showing what was erased.
    func forget(visitor: VisitorID, conversations: [ConversationID]) async {
        forget(conversations: conversations)
        await hub.publish(.both(.close(code: 4401, reason: "Erased")), to: [.visitor(visitor)])
    }

    /// Forgets deleted conversations: they leave the cache.
    func forget(conversations: [ConversationID]) {
        visitorOfConversation.withLock { cache in
            for conversation in conversations { cache[conversation] = nil }
        }
    }

    /// Relays a typing indicator to the other side (not stored). Internal typing stays among staff.
    func typing(_ principal: Principal, conversation id: ConversationID, active: Bool, visibility: Visibility, origin: Int?) async throws {
        let conversation = try await readAccessibleConversation(id, for: principal)
        guard conversation.conversationState.isOpen else { return }
        let text = FrameCodec.encode(ServerEnvelope(.typing(conversationId: id, author: principal.author, active: active)))
        let rendered = visibility == .public && principal.authorKind != .visitor ? Rendered.both(.frame(text)) : .staffOnly(.frame(text))
        await hub.publish(rendered, to: topics(of: conversation), except: origin)
    }

    /// Records a read receipt (never moving backwards) and tells the other side.
    func markRead(_ principal: Principal, conversation id: ConversationID, seq: Int64, origin: Int?, reply: Reply) async throws {
        let conversation = try await readAccessibleConversation(id, for: principal)
        let upTo = min(seq, conversation.lastSeq)
        try await database.transaction { store in
            try await store.markRead(conversation: id, readerKind: principal.authorKind, readerId: principal.authorID, seq: upTo)
        }
        reply(.ok)
        let text = FrameCodec.encode(ServerEnvelope(.read(conversationId: id, reader: principal.author, seq: upTo)))
        await hub.publish(.both(.frame(text)), to: topics(of: conversation), except: origin)
    }

    // MARK: Closing and rating

    /// Closes a conversation: the visitor their own; staff when assigned, when it is still
    /// queued, or with access to all departments.
    func close(_ principal: Principal, conversation id: ConversationID, reply: Reply) async throws {
        try await conversationLocks.withLock(id) {
            let (event, conversation) = try await database.transaction { store -> (ConversationEventPayload, ConversationRecord) in
                let conversation = try await accessibleConversation(id, for: principal, in: store)
                if case .staff(let staff) = principal {
                    try staff.require(.chat)
                    let mayClose =
                        conversation.agentID == staff.agentID || conversation.conversationState == .queued || staff.allows(.allDepartments)
                    guard mayClose else { throw ConfidantError(.forbidden, "Only the assigned agent can close this conversation.") }
                }
                guard conversation.conversationState.canMove(to: .closed) else { throw ConfidantError(.invalidState, "The conversation is already closed.") }
                let now = nowMillis()
                try await store.close(conversation: id, at: now)
                let event = try await appendEvent(.closed, to: id, actor: principal.author, in: store, at: now)
                return (event, conversation)
            }
            reply(.ok)
            await publish(.event(event), of: conversation)
            if conversation.conversationState == .queued { await publishQueue(department: conversation.departmentID) }
        }
        await drainQueue()
    }

    /// Records the visitor's rating (once per conversation) of an active or closed conversation.
    func rate(_ visitor: VisitorIdentity, conversation id: ConversationID, score: Int, comment: String?, reply: Reply) async throws {
        let principal = Principal.visitor(visitor)
        let key = try await keys.dataKey(for: visitor.visitorID)
        try await conversationLocks.withLock(id) {
            let (event, conversation) = try await database.transaction { store -> (ConversationEventPayload, ConversationRecord) in
                let conversation = try await accessibleConversation(id, for: principal, in: store)
                guard conversation.conversationState != .queued else {
                    throw ConfidantError(.invalidState, "A conversation can be rated once an agent has joined.")
                }
                guard conversation.rating == nil else { throw ConfidantError(.alreadyRated, "This conversation is already rated.") }
                let redactor = try await redactor(of: conversation.siteId, in: store)
                let comment = comment.map { redactor.redact($0).text }
                let sealed = try comment.map { try FieldCipher.seal($0, with: key, as: .ratingComment(id)) }
                try await store.rate(conversation: id, score: score, commentSealed: sealed)
                var event = try await appendEvent(.rated, to: id, actor: principal.author, score: score, in: store, at: nowMillis())
                event.comment = comment
                return (event, conversation)
            }
            reply(.ok)
            await publish(.event(event), of: conversation)
        }
    }

    // MARK: Visitors

    /// Opens a conversation for a visitor, or returns the one already open on this site. With no
    /// agent online (for the department) it fails with `no_agents_online`: the widget then offers
    /// the offline form. Otherwise it is routed at once or queued.
    func openConversation(
        _ visitor: VisitorIdentity, department: DepartmentID?, name: String?, email: String?, pageURL: String?, language: String?, consent: Bool,
        reply: Reply
    ) async throws {
        let key = try await keys.dataKey(for: visitor.visitorID)
        if let department, try await database.read({ try await $0.department(id: department) }) == nil {
            throw ConfidantError(.invalidRequest, "There is no such department.")
        }
        let id = ConversationID()
        let outcome = try await conversationLocks.withLock(id) {
            let outcome = try await database.transaction { store -> (ConversationRecord, ConversationEventPayload?) in
                try await saveContact(of: visitor.visitorID, name: name, email: email, key: key, in: store)
                if let existing = try await store.openConversations(visitor: visitor.visitorID).first(where: { $0.siteId == visitor.siteID.rawValue }) {
                    return (existing, nil)
                }
                guard let site = try await store.site(id: visitor.siteID) else { throw ConfidantError.unauthenticated }
                // Consent is asked once per version: a visitor who agreed to this version and did
                // not withdraw is not asked again; a new agreement is recorded with what was shown.
                let consentSettings = site.siteSettings.consent
                if consentSettings.required, try await store.activeConsent(visitor: visitor.visitorID)?.version != consentSettings.version {
                    guard consent else { throw ConfidantError(.consentRequired, "Agree to the privacy policy before starting a conversation.") }
                    try await store.insertConsent(visitor: visitor, consentSettings, language: language, at: nowMillis())
                }
                try await store.lockRouting()
                let candidates = try await store.routingCandidates(department: department, presenceCutoff: presenceCutoff())
                guard !candidates.isEmpty else {
                    throw ConfidantError(.noAgentsOnline, "No agent is online right now. Leave a message and we will get back to you.")
                }
                let now = nowMillis()
                let sealedPage = try pageURL.map { try FieldCipher.seal($0, with: key, as: .pageURL(id)) }
                // The consent record: when, and which policy the visitor was shown.
                try await store.insertConversation(
                    id: id, site: visitor.siteID, department: department, visitor: visitor.visitorID, pageURLSealed: sealedPage, language: language,
                    consentPolicyURL: consentSettings.required ? consentSettings.privacyPolicyUrl : nil, at: now)
                let assigned = try await routeIfPossible(id, department: department, candidates: candidates, in: store, at: now)
                guard let conversation = try await store.conversation(id: id) else { throw ConfidantError.conversationNotFound }
                return (conversation, assigned)
            }
            let summary = try await database.read { store in try await self.summary(of: outcome.0, for: .visitor, in: store) }
            reply(.conversationOpened(summary))
            if let assigned = outcome.1 { await publish(.event(assigned), of: outcome.0) }
            return outcome
        }
        if outcome.1 == nil && outcome.0.conversationState == .queued {
            await publishQueue(department: outcome.0.departmentID)
        }
    }

    /// Stores a message left while no agent was online. Idempotent per client id.
    func leaveOfflineMessage(
        _ visitor: VisitorIdentity, clientId: String, department: DepartmentID?, name: String?, email: String?, body: String, reply: Reply
    ) async throws {
        let key = try await keys.dataKey(for: visitor.visitorID)
        let id = try await database.transaction { store -> OfflineMessageID in
            if let existing = try await store.offlineMessage(visitor: visitor.visitorID, clientId: clientId) {
                return OfflineMessageID(trusted: existing.id)
            }
            if let department, try await store.department(id: department) == nil {
                throw ConfidantError(.invalidRequest, "There is no such department.")
            }
            let id = OfflineMessageID()
            let body = try await redactor(of: visitor.siteID.rawValue, in: store).redact(body).text
            try await store.insertOfflineMessage(
                id: id, site: visitor.siteID, visitor: visitor.visitorID, department: department, clientId: clientId,
                nameSealed: try name.map { try FieldCipher.seal($0, with: key, as: .offlineName(id)) },
                emailSealed: try email.map { try FieldCipher.seal($0, with: key, as: .offlineEmail(id)) },
                bodySealed: try FieldCipher.seal(body, with: key, as: .offlineBody(id))
            )
            return id
        }
        reply(.offlineAck(clientId: clientId, id: id))
    }

    /// The redactor of a site's messages: the built-in kinds and the site's own patterns.
    private func redactor(of site: String, in store: Store) async throws -> Redactor {
        let now = nowMillis()
        if let cached = redactors.withLock({ $0[site] }), now - cached.loadedAt < Self.redactorLifetime { return cached.redactor }
        let redactor = try await store.site(id: SiteID(trusted: site))?.siteSettings.redactor ?? Redactor()
        redactors.withLock { cache in
            if cache.count >= Self.visitorCacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[site] = (redactor, now)
        }
        return redactor
    }

    private func saveContact(of visitor: VisitorID, name: String?, email: String?, key: SymmetricKey, in store: Store) async throws {
        guard name != nil || email != nil else { return }
        try await store.updateVisitorContact(
            id: visitor,
            nameSealed: try name.map { try FieldCipher.seal($0, with: key, as: .visitorName(visitor)) },
            emailSealed: try email.map { try FieldCipher.seal($0, with: key, as: .visitorEmail(visitor)) }
        )
    }

    // MARK: Shared helpers

    /// Appends an event to a conversation's timeline with the next sequence number.
    func appendEvent(
        _ kind: ConversationEventKind, to conversation: ConversationID, actor: Author, agent: Author? = nil, fromAgent: Author? = nil,
        department: DepartmentID? = nil, score: Int? = nil, in store: Store, at time: Int64
    ) async throws -> ConversationEventPayload {
        let seq = try await store.nextSequence(conversation: conversation)
        let id = EventID()
        try await store.insertEvent(
            id: id, conversation: conversation, seq: seq, kind: kind, actorKind: actor.kind, actorId: actor.id,
            agent: agent?.id.flatMap(AgentID.init), fromAgent: fromAgent?.id.flatMap(AgentID.init), department: department, score: score, at: time
        )
        return ConversationEventPayload(
            conversationId: conversation, id: id, seq: seq, kind: kind, actor: actor, agent: agent, fromAgent: fromAgent, departmentId: department,
            score: score, createdAt: time
        )
    }

    /// The presence rows newer than this count as online.
    func presenceCutoff() -> Int64 {
        nowMillis() - settings.presenceTTL.milliseconds
    }
}
