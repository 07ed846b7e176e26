import ConfidantCore
import Foundation
import Logging

// Routing: who gets which conversation, the queue, availability and presence. Every decision is
// made inside a transaction holding the routing lock, from data in the database, so several nodes
// sharing one PostgreSQL agree; see ``RoutingPolicy`` for the choice itself.

extension ChatService {
    /// Assigns a queued conversation to the best candidate, if any has capacity; returns the
    /// `assigned` event. The caller holds the routing lock.
    func routeIfPossible(
        _ conversation: ConversationID, department: DepartmentID?, candidates: [RoutingCandidate]? = nil, in store: Store, at time: Int64
    ) async throws -> ConversationEventPayload? {
        let pool: [RoutingCandidate]
        if let candidates { pool = candidates } else { pool = try await store.routingCandidates(department: department, presenceCutoff: presenceCutoff()) }
        guard let chosen = RoutingPolicy.choose(from: pool), let agent = try await store.agent(id: chosen.agentID) else { return nil }
        try await store.assign(conversation: conversation, to: chosen.agentID, at: time)
        let author = Author(kind: .agent, id: agent.id, name: agent.displayName)
        return try await appendEvent(.assigned, to: conversation, actor: .system, agent: author, in: store, at: time)
    }

    /// Offers waiting conversations, oldest first, to agents with free capacity. Called whenever
    /// capacity may have appeared: an agent becomes available or connects, a conversation closes
    /// or is transferred away.
    func drainQueue() async {
        do {
            let queued = try await database.read { try await $0.queuedConversations() }
            var exhausted = Set<DepartmentID?>()
            var changed = Set<DepartmentID?>()
            for waiting in queued {
                let department = waiting.departmentId.map(DepartmentID.init(trusted:))
                guard !exhausted.contains(department) else { continue }
                let id = ConversationID(trusted: waiting.id)
                let assigned = try await conversationLocks.withLock(id) {
                    let outcome = try await database.transaction { store -> (ConversationEventPayload, ConversationRecord)? in
                        try await store.lockRouting()
                        guard let conversation = try await store.conversation(id: id), conversation.conversationState == .queued,
                            let event = try await routeIfPossible(id, department: conversation.departmentID, in: store, at: nowMillis()),
                            let updated = try await store.conversation(id: id)
                        else { return nil }
                        return (event, updated)
                    }
                    if let (event, conversation) = outcome { await publish(.event(event), of: conversation) }
                    return outcome != nil
                }
                if assigned { changed.insert(department) } else { exhausted.insert(department) }
            }
            for department in changed { await publishQueue(department: department) }
        } catch {
            logger.error("Routing the queue failed", metadata: ["error": "\(error)"])
        }
    }

    /// An agent takes a queued conversation, within their concurrent-chat limit.
    func accept(_ staff: StaffIdentity, conversation id: ConversationID, reply: Reply) async throws {
        try staff.require(.chat)
        let principal = Principal.staff(staff)
        try await conversationLocks.withLock(id) {
            let (event, conversation) = try await database.transaction { store -> (ConversationEventPayload, ConversationRecord) in
                try await store.lockRouting()
                let conversation = try await accessibleConversation(id, for: principal, in: store)
                guard conversation.conversationState == .queued else {
                    throw ConfidantError(.invalidState, "The conversation is not waiting in the queue any more.")
                }
                try await requireCapacity(of: staff.agentID, in: store)
                let now = nowMillis()
                try await store.assign(conversation: id, to: staff.agentID, at: now)
                let event = try await appendEvent(.assigned, to: id, actor: staff.author, agent: staff.author, in: store, at: now)
                guard let updated = try await store.conversation(id: id) else { throw ConfidantError.conversationNotFound }
                return (event, updated)
            }
            reply(.ok)
            await publish(.event(event), of: conversation)
            await publishQueue(department: conversation.departmentID)
        }
    }

    /// Hands a conversation to another agent (who must be online, available, allowed to see it
    /// and under their limit) or to a department's queue (where it is routed again).
    func transfer(_ staff: StaffIdentity, conversation id: ConversationID, toAgent: AgentID?, toDepartment: DepartmentID?, reply: Reply) async throws {
        try staff.require(.chat)
        let principal = Principal.staff(staff)
        try await conversationLocks.withLock(id) {
            let (events, before, after) = try await database.transaction { store -> ([ConversationEventPayload], ConversationRecord, ConversationRecord) in
                try await store.lockRouting()
                let conversation = try await accessibleConversation(id, for: principal, in: store)
                guard conversation.conversationState.isOpen else { throw ConfidantError(.invalidState, "The conversation is closed.") }
                let mayTransfer =
                    conversation.agentID == staff.agentID || conversation.conversationState == .queued
                    || staff.allows(.allDepartments)
                guard mayTransfer else { throw ConfidantError(.forbidden, "Only the assigned agent can transfer this conversation.") }
                var fromAgent: Author?
                if let current = conversation.agentID, let record = try await store.agent(id: current) {
                    fromAgent = Author(kind: .agent, id: record.id, name: record.displayName)
                }
                let now = nowMillis()
                var events: [ConversationEventPayload] = []
                if let toAgent {
                    let target = try await transferTarget(toAgent, for: conversation, in: store)
                    try await store.assign(conversation: id, to: toAgent, at: now)
                    let targetAuthor = Author(kind: .agent, id: target.id, name: target.displayName)
                    events.append(
                        try await appendEvent(.transferred, to: id, actor: staff.author, agent: targetAuthor, fromAgent: fromAgent, in: store, at: now))
                } else if let toDepartment {
                    guard try await store.department(id: toDepartment) != nil else { throw ConfidantError(.invalidRequest, "There is no such department.") }
                    try await store.requeue(conversation: id, department: toDepartment, at: now)
                    events.append(
                        try await appendEvent(.transferred, to: id, actor: staff.author, fromAgent: fromAgent, department: toDepartment, in: store, at: now))
                    if let assigned = try await routeIfPossible(id, department: toDepartment, in: store, at: now) { events.append(assigned) }
                }
                guard let after = try await store.conversation(id: id) else { throw ConfidantError.conversationNotFound }
                return (events, conversation, after)
            }
            reply(.ok)
            for event in events { await publish(.event(event), of: after, alsoTo: before.agentID) }
            if before.conversationState == .queued || after.conversationState == .queued || before.departmentId != after.departmentId {
                await publishQueue(department: before.departmentID)
                await publishQueue(department: after.departmentID)
            }
        }
        await drainQueue()
    }

    /// Sets an agent's availability and tells staff; becoming available may take from the queue.
    func setAvailability(_ staff: StaffIdentity, _ availability: Availability, reply: Reply) async throws {
        try staff.require(.chat)
        try await database.transaction { try await $0.setAvailability(agent: staff.agentID, availability) }
        reply(.ok)
        await publishAvailability(of: staff.agentID)
        if availability == .available { await drainQueue() }
    }

    // MARK: Presence

    /// Records a new staff socket on this node; the first one makes the agent routable.
    func staffConnected(_ staff: StaffIdentity) async throws {
        try await refreshPresence(of: staff.agentID)
        await publishAvailability(of: staff.agentID)
        await drainQueue()
    }

    /// Records a closed staff socket; when the last one goes, the agent stops being routable.
    func staffDisconnected(_ staff: StaffIdentity) async {
        do {
            try await refreshPresence(of: staff.agentID)
            await publishAvailability(of: staff.agentID)
        } catch {
            logger.error("Updating presence failed", metadata: ["error": "\(error)"])
        }
    }

    /// Writes this node's presence row for `agent` from the hub's socket count.
    func refreshPresence(of agent: AgentID) async throws {
        let count = await hub.count(.agent(agent))
        let node = settings.nodeID
        try await database.transaction { store in
            if count > 0 {
                try await store.upsertPresence(agent: agent, node: node, connections: count, at: nowMillis())
            } else {
                try await store.deletePresence(agent: agent, node: node)
            }
        }
    }

    // MARK: Checks

    private func requireCapacity(of agent: AgentID, in store: Store) async throws {
        guard let record = try await store.agent(id: agent) else { throw ConfidantError.forbidden }
        guard try await store.countActiveConversations(agent: agent) < record.maxConversations else {
            throw ConfidantError(.limitReached, "You already have \(record.maxConversations) active conversations, your limit.")
        }
    }

    private func transferTarget(_ id: AgentID, for conversation: ConversationRecord, in store: Store) async throws -> AgentRecord {
        let unavailable = ConfidantError(
            .agentUnavailable, "That agent cannot take this conversation now (offline, away, at their limit, or not in its department).")
        guard id != conversation.agentID, let target = try await store.agent(id: id), target.isActive, AccessPolicy.allows(target.staffRole, .chat),
            target.currentAvailability == .available, try await store.isOnline(agent: id, freshAfter: presenceCutoff())
        else { throw unavailable }
        let departments = Set(try await store.departments(ofAgent: id))
        let allowed = AccessPolicy.canAccess(
            permissions: AccessPolicy.permissions(of: target.staffRole), agentID: id, departments: departments,
            conversationDepartment: conversation.departmentID, conversationAgent: nil
        )
        guard allowed, try await store.countActiveConversations(agent: id) < target.maxConversations else { throw unavailable }
        return target
    }
}
