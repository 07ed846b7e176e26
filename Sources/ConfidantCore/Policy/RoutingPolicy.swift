/// An agent who could take a conversation, with their current load.
public struct RoutingCandidate: Sendable, Equatable {
    /// The agent.
    public let agentID: AgentID
    /// Conversations currently active and assigned to the agent.
    public let activeConversations: Int
    /// The agent's concurrent-chat limit.
    public let maxConversations: Int
    /// When the agent was last given a conversation (Unix ms), to break ties fairly.
    public let lastAssignedAt: Int64

    /// Creates a candidate.
    public init(agentID: AgentID, activeConversations: Int, maxConversations: Int, lastAssignedAt: Int64) {
        self.agentID = agentID
        self.activeConversations = activeConversations
        self.maxConversations = maxConversations
        self.lastAssignedAt = lastAssignedAt
    }

    /// Whether the agent is below their limit.
    public var hasCapacity: Bool { activeConversations < maxConversations }
}

/// Chooses who gets a new conversation: the least-busy candidate under their limit; among equals,
/// the one who waited longest since their last assignment; then the lowest id, so the choice is
/// deterministic. Callers pass only agents who are available, connected and in the department.
public enum RoutingPolicy {
    /// The chosen candidate, or nil when everyone is at their limit.
    public static func choose(from candidates: [RoutingCandidate]) -> RoutingCandidate? {
        candidates.filter(\.hasCapacity).min { a, b in
            if a.activeConversations != b.activeConversations { return a.activeConversations < b.activeConversations }
            if a.lastAssignedAt != b.lastAssignedAt { return a.lastAssignedAt < b.lastAssignedAt }
            return a.agentID.rawValue < b.agentID.rawValue
        }
    }
}
