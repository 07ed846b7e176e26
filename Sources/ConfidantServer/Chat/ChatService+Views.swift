import ConfidantCore
import Crypto
import Foundation
import Logging

// What clients see: summaries, timelines, the queue, welcome frames, and the fan-out of each.

extension ChatService {
    // MARK: Fan-out

    /// The sockets that follow a conversation: its visitor's, its assigned agent's and those of
    /// supervisors watching it.
    func topics(of conversation: ConversationRecord, alsoTo extraAgent: AgentID? = nil) -> [Topic] {
        var topics: [Topic] = [.visitor(conversation.visitorID), .conversation(conversation.conversationID)]
        if let agent = conversation.agentID { topics.append(.agent(agent)) }
        if let extraAgent, extraAgent != conversation.agentID { topics.append(.agent(extraAgent)) }
        return topics
    }

    /// Publishes a timeline entry to everyone following the conversation. Internal notes are
    /// rendered for staff only: the visitor rendering is nil, so the hub never hands it to a
    /// visitor socket.
    func publish(_ entry: TimelineEntry, of conversation: ConversationRecord, alsoTo extraAgent: AgentID? = nil, except origin: Int? = nil) async {
        let item = Outbound.entry(entry.conversationId, seq: entry.seq, text: FrameCodec.encode(ServerEnvelope(entry.frame)))
        let rendered = entry.isVisibleToVisitor ? Rendered.both(item) : .staffOnly(item)
        await hub.publish(rendered, to: topics(of: conversation, alsoTo: extraAgent), except: origin)
    }

    /// Announces that a department's queue changed. Announcements are coalesced: changes within
    /// ``QueueAnnouncements/delay`` make one, so a burst of visitors does not send the whole
    /// queue to every agent once per visitor (quadratic in the queue's length).
    func publishQueue(department: DepartmentID?) async {
        guard queueAnnouncements.markChanged(department) else { return }
        Task {
            while let departments = await queueAnnouncements.nextBatch() {
                for department in departments { await announceQueue(department: department) }
            }
        }
    }

    /// Sends the current queue of a department to staff who can take from it, and each waiting
    /// visitor whose place, queue length or expected wait changed their new position.
    private func announceQueue(department: DepartmentID?) async {
        do {
            let entries = try await database.read { try await queueEntries(department: department, in: $0) }
            let text = FrameCodec.encode(ServerEnvelope(.queue(departmentId: department, entries: entries)))
            await hub.publish(.staffOnly(.frame(text)), to: [.queue(department), .allQueues])
            for entry in queueAnnouncements.changedPositions(entries, department: department) {
                let position = FrameCodec.encode(
                    ServerEnvelope(
                        .queuePosition(
                            conversationId: entry.conversationId, position: entry.position, queueLength: entries.count,
                            expectedWaitSeconds: entry.expectedWaitSeconds)))
                await hub.publish(Rendered(visitor: .frame(position), staff: nil), to: [.visitor(entry.visitorId)])
            }
        } catch {
            logger.error("Publishing the queue failed", metadata: ["error": "\(error)"])
        }
    }

    /// Tells staff whether an agent is available and online.
    func publishAvailability(of agent: AgentID) async {
        do {
            let cutoff = presenceCutoff()
            guard
                let (record, online) = try await database.read({ store -> (AgentRecord, Bool)? in
                    guard let record = try await store.agent(id: agent) else { return nil }
                    return (record, try await store.isOnline(agent: agent, freshAfter: cutoff))
                })
            else { return }
            let frame = ServerFrame.availability(agentId: agent, name: record.displayName, availability: record.currentAvailability, online: online)
            await hub.publish(.staffOnly(.frame(FrameCodec.encode(ServerEnvelope(frame)))), to: [.staff])
        } catch {
            logger.error("Publishing availability failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Views

    /// A department's queue with 1-based positions and wait estimates.
    func queueEntries(department: DepartmentID?, in store: Store) async throws -> [QueueEntry] {
        let queued = try await store.queuedConversations(department: department)
        guard !queued.isEmpty else { return [] }
        let perPlace = try await store.averageRecentWait(department: department, since: nowMillis() - 86_400_000) ?? 60
        return queued.enumerated().map { index, row in
            QueueEntry(
                conversationId: ConversationID(trusted: row.id), siteId: SiteID(trusted: row.siteId),
                departmentId: row.departmentId.map(DepartmentID.init(trusted:)),
                visitorId: VisitorID(trusted: row.visitorId), queuedAt: row.queuedAt, position: index + 1,
                expectedWaitSeconds: (index + 1) * perPlace
            )
        }
    }

    /// The queues a staff member may take from, oldest first (none without `chat`).
    func visibleQueue(for staff: StaffIdentity, in store: Store) async throws -> [QueueEntry] {
        guard staff.allows(.chat) else { return [] }
        var departments: [DepartmentID?] = [nil]
        if staff.allows(.allDepartments) {
            departments += try await store.departments().map { DepartmentID(trusted: $0.id) }
        } else {
            departments += staff.departments.sorted { $0.rawValue < $1.rawValue }
        }
        var entries: [QueueEntry] = []
        for department in departments { entries += try await queueEntries(department: department, in: store) }
        return entries.sorted { ($0.queuedAt, $0.conversationId.rawValue) < ($1.queuedAt, $1.conversationId.rawValue) }
    }

    /// Who a conversation summary is rendered for.
    enum SummaryReader {
        /// The visitor: no personal fields, no page.
        case visitor
        /// Staff: the visitor's decrypted contact, shown or masked.
        case staff(PersonalDataView)

        /// As `staff` may see it (masked without `seePersonalData`).
        static func staff(_ staff: StaffIdentity) -> SummaryReader { .staff(staff.personalData) }
    }

    /// A conversation as `reader` may see it.
    func summary(of conversation: ConversationRecord, for reader: SummaryReader, in store: Store) async throws -> ConversationSummary {
        var agent: Author?
        if let id = conversation.agentID, let record = try await store.agent(id: id) {
            agent = Author(kind: .agent, id: record.id, name: record.displayName)
        }
        var queueEntry: QueueEntry?
        if conversation.conversationState == .queued {
            queueEntry = try await queueEntries(department: conversation.departmentID, in: store).first { $0.conversationId.rawValue == conversation.id }
        }
        var summary = ConversationSummary(
            id: conversation.conversationID, siteId: conversation.siteID, departmentId: conversation.departmentID, visitorId: conversation.visitorID,
            state: conversation.conversationState, agent: agent, lastSeq: conversation.lastSeq, createdAt: conversation.createdAt,
            assignedAt: conversation.assignedAt, closedAt: conversation.closedAt, queuePosition: queueEntry?.position,
            expectedWaitSeconds: queueEntry?.expectedWaitSeconds, rating: conversation.rating, language: conversation.language,
            consentAt: conversation.consentAt
        )
        let markers = try await store.readMarkers(conversation: conversation.conversationID)
        summary.visitorReadSeq = markers.filter { $0.readerKind == AuthorKind.visitor.rawValue }.map(\.seq).max()
        summary.agentReadSeq = markers.filter { $0.readerKind == AuthorKind.agent.rawValue }.map(\.seq).max()
        if case .staff(let view) = reader {
            let key = try await keys.dataKey(for: conversation.visitorID)
            if let visitor = try await store.visitor(id: conversation.visitorID) {
                summary.visitorName = try visitor.nameSealed.map { view.name(try FieldCipher.open($0, with: key, as: .visitorName(conversation.visitorID))) }
                summary.visitorEmail = try visitor.emailSealed.map {
                    view.email(try FieldCipher.open($0, with: key, as: .visitorEmail(conversation.visitorID)))
                }
                summary.verifiedVisitor = try visitor.verifiedSealed.flatMap {
                    Store.decodeJSON(VerifiedVisitor.self, from: try FieldCipher.open($0, with: key, as: .visitorIdentity(conversation.visitorID)))
                }.map { verified in
                    VerifiedVisitor(
                        userId: view.name(verified.userId), email: verified.email.map(view.email), name: verified.name.map(view.name),
                        verifiedAt: verified.verifiedAt)
                }
            }
            summary.pageUrl = try conversation.pageUrlSealed.map { try FieldCipher.open($0, with: key, as: .pageURL(conversation.conversationID)) }
        }
        return summary
    }

    /// Every timeline entry after `afterSeq` that `principal` may see, decrypted, in order.
    func timeline(_ principal: Principal, conversation id: ConversationID, after afterSeq: Int64) async throws -> (entries: [TimelineEntry], lastSeq: Int64) {
        let conversation = try await readAccessibleConversation(id, for: principal)
        return try await timeline(of: conversation, includeInternal: principal.authorKind != .visitor, after: afterSeq)
    }

    /// Every timeline entry of `conversation` after `afterSeq`, decrypted, in order; with
    /// `includeInternal`, staff notes too. No access check: callers have made theirs.
    func timeline(of conversation: ConversationRecord, includeInternal: Bool, after afterSeq: Int64) async throws -> (
        entries: [TimelineEntry], lastSeq: Int64
    ) {
        let id = conversation.conversationID
        let key = try await keys.dataKey(for: conversation.visitorID)
        let pageSize = 500
        return try await database.read { store in
            var entries: [TimelineEntry] = []
            var cursor = afterSeq
            while true {
                let messages = try await store.messages(conversation: id, after: cursor, includeInternal: includeInternal, limit: pageSize)
                let events = try await store.events(conversation: id, after: cursor, limit: pageSize)
                guard !messages.isEmpty || !events.isEmpty else { break }
                // Both pages are complete up to the lower of their last sequence numbers.
                let limit = min(messages.count == pageSize ? messages.last!.seq : .max, events.count == pageSize ? events.last!.seq : .max)
                var names = try await store.agentNames(Set(messages.filter { $0.authorKind == AuthorKind.agent.rawValue }.map(\.authorId)))
                names.merge(
                    try await store.agentNames(Set(events.flatMap { [$0.actorId, $0.agentId, $0.fromAgentId].compactMap { $0 } })),
                    uniquingKeysWith: { a, _ in a })
                var page: [TimelineEntry] = []
                for message in messages where message.seq <= limit {
                    page.append(.message(try self.payload(of: message, key: key, names: names)))
                }
                for event in events where event.seq <= limit {
                    page.append(.event(try self.payload(of: event, conversation: conversation, key: key, names: names)))
                }
                page.sort { $0.seq < $1.seq }
                entries += page
                guard limit != .max, let last = page.last?.seq else { break }
                cursor = last
            }
            let current = try await store.conversation(id: id)?.lastSeq ?? conversation.lastSeq
            return (entries, max(current, entries.last?.seq ?? afterSeq))
        }
    }

    private func payload(of message: MessageRecord, key: SymmetricKey, names: [String: String]) throws -> MessagePayload {
        let id = MessageID(trusted: message.id)
        let kind = AuthorKind(rawValue: message.authorKind) ?? .system
        return MessagePayload(
            conversationId: ConversationID(trusted: message.conversationId), id: id, seq: message.seq, clientId: message.clientId,
            author: Author(kind: kind, id: message.authorId, name: kind == .agent ? names[message.authorId] : nil),
            body: try FieldCipher.open(message.bodySealed, with: key, as: .messageBody(id)),
            visibility: Visibility(rawValue: message.visibility) ?? .internal, createdAt: message.createdAt,
            redactions: try message.redactions.map { try JSONDecoder().decode([RedactionMark].self, from: Data($0.utf8)) }
        )
    }

    private func payload(of event: EventRecord, conversation: ConversationRecord, key: SymmetricKey, names: [String: String]) throws -> ConversationEventPayload
    {
        func agent(_ id: String?) -> Author? { id.map { Author(kind: .agent, id: $0, name: names[$0]) } }
        let actorKind = AuthorKind(rawValue: event.actorKind) ?? .system
        let kind = ConversationEventKind(rawValue: event.kind) ?? .closed
        var comment: String?
        if kind == .rated, let sealed = conversation.ratingCommentSealed {
            comment = try FieldCipher.open(sealed, with: key, as: .ratingComment(conversation.conversationID))
        }
        return ConversationEventPayload(
            conversationId: conversation.conversationID, id: EventID(trusted: event.id), seq: event.seq, kind: kind,
            actor: actorKind == .agent ? agent(event.actorId)! : Author(kind: actorKind, id: event.actorId), agent: agent(event.agentId),
            fromAgent: agent(event.fromAgentId), departmentId: event.departmentId.map(DepartmentID.init(trusted:)), score: event.score, comment: comment,
            createdAt: event.createdAt
        )
    }

    // MARK: Welcome

    /// The `welcome` for a visitor: their open conversations and whether anyone is online.
    func welcome(visitor: VisitorIdentity) async throws -> Welcome {
        let cutoff = presenceCutoff()
        return try await database.read { store in
            let open = try await store.openConversations(visitor: visitor.visitorID).filter { $0.siteId == visitor.siteID.rawValue }
            var summaries: [ConversationSummary] = []
            for conversation in open { summaries.append(try await summary(of: conversation, for: .visitor, in: store)) }
            let online = try await !store.routingCandidates(department: nil, presenceCutoff: cutoff).isEmpty
            return Welcome(
                protocol: ProtocolVersion.current, visitorId: visitor.visitorID, agent: nil, conversations: summaries, queue: nil,
                agentsOnline: online, heartbeatSeconds: Int(settings.heartbeatInterval.components.seconds),
                consent: try await store.activeConsent(visitor: visitor.visitorID)
            )
        }
    }

    /// The `welcome` for staff: their profile, their active conversations and their queue.
    func welcome(staff: StaffIdentity) async throws -> Welcome {
        try await database.read { store in
            guard let record = try await store.agent(id: staff.agentID) else { throw ConfidantError.unauthenticated }
            var summaries: [ConversationSummary] = []
            for conversation in try await store.activeConversations(agent: staff.agentID) {
                summaries.append(try await summary(of: conversation, for: .staff(staff), in: store))
            }
            let profile = AgentProfile(
                id: staff.agentID, displayName: record.displayName, role: record.staffRole,
                departments: staff.departments.sorted { $0.rawValue < $1.rawValue }, availability: record.currentAvailability,
                maxConversations: record.maxConversations
            )
            return Welcome(
                protocol: ProtocolVersion.current, visitorId: nil, agent: profile, conversations: summaries,
                queue: try await visibleQueue(for: staff, in: store), agentsOnline: nil, heartbeatSeconds: Int(settings.heartbeatInterval.components.seconds)
            )
        }
    }

    /// Topics a staff socket joins: its own, its session's, all staff, security alerts for those
    /// who manage security, supervision of their departments for those who monitor, and the
    /// queues it may take from (none without `chat`: an auditor sees no conversation).
    func staffTopics(for staff: StaffIdentity) -> [Topic] {
        var topics: [Topic] = [.agent(staff.agentID), .staff]
        if let session = staff.sessionHash { topics.append(.session(session)) }
        if staff.allows(.manageSecurity) { topics.append(.securityAlerts) }
        if staff.allows(.monitor) {
            topics.append(.supervision(nil))
            topics += staff.allows(.allDepartments) ? [.allSupervision] : staff.departments.map { .supervision($0) }
        }
        if !staff.allows(.chat) { return topics }
        topics.append(.queue(nil))
        if staff.allows(.allDepartments) {
            topics.append(.allQueues)
        } else {
            topics += staff.departments.map { .queue($0) }
        }
        return topics
    }
}
