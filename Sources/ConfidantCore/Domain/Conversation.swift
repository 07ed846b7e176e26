/// The life of a conversation: `queued → active → closed`, with `active → queued` when it is
/// transferred to a department and waits for an agent there.
public enum ConversationState: String, Sendable, Codable, CaseIterable {
    case queued
    case active
    case closed

    /// Whether the state machine allows moving from `self` to `next`.
    public func canMove(to next: ConversationState) -> Bool {
        switch (self, next) {
        case (.queued, .active), (.queued, .closed), (.active, .closed), (.active, .queued), (.active, .active):
            true
        default:
            false
        }
    }

    /// Whether messages may still be sent.
    public var isOpen: Bool { self != .closed }
}

/// Who wrote a message or caused an event.
public enum AuthorKind: String, Sendable, Codable {
    case visitor
    case agent
    case system
}

/// Whether a message reaches the visitor (`public`) or stays among staff (`internal`).
public enum Visibility: String, Sendable, Codable {
    case `public`
    case `internal`
}

/// An agent's self-declared availability. Routing also requires the agent to be connected.
public enum Availability: String, Sendable, Codable {
    case available
    case away
}

/// Kinds of conversation events; each takes a place in the conversation's sequence.
public enum ConversationEventKind: String, Sendable, Codable {
    case assigned
    case transferred
    case closed
    case rated
}
