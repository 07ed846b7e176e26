import Foundation

/// A typed identifier: a lowercase UUID string, so a conversation id can never be passed where an
/// agent id is expected. Encodes as a plain JSON string.
public struct Identifier<Tag>: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The canonical lowercase UUID text.
    public let rawValue: String

    /// Creates a new random identifier.
    public init() {
        self.rawValue = UUID().uuidString.lowercased()
    }

    /// Parses an identifier; returns nil unless `string` is a UUID.
    public init?(_ string: String) {
        guard string.utf8.count == 36, let uuid = UUID(uuidString: string) else { return nil }
        self.rawValue = uuid.uuidString.lowercased()
    }

    /// Wraps text read back from storage, which only ever holds ids this type produced.
    public init(trusted rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        guard let id = Identifier(string) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a valid id")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Phantom tags for ``Identifier``.
public enum SiteTag {}
/// Phantom tag for departments.
public enum DepartmentTag {}
/// Phantom tag for staff accounts.
public enum AgentTag {}
/// Phantom tag for visitors.
public enum VisitorTag {}
/// Phantom tag for conversations.
public enum ConversationTag {}
/// Phantom tag for messages.
public enum MessageTag {}
/// Phantom tag for conversation events.
public enum EventTag {}
/// Phantom tag for canned responses.
public enum CannedResponseTag {}
/// Phantom tag for offline messages.
public enum OfflineMessageTag {}

/// Identifies a site (one website embedding the widget).
public typealias SiteID = Identifier<SiteTag>
/// Identifies a department.
public typealias DepartmentID = Identifier<DepartmentTag>
/// Identifies a staff account (owner, admin or agent).
public typealias AgentID = Identifier<AgentTag>
/// Identifies an anonymous visitor.
public typealias VisitorID = Identifier<VisitorTag>
/// Identifies a conversation.
public typealias ConversationID = Identifier<ConversationTag>
/// Identifies a stored message.
public typealias MessageID = Identifier<MessageTag>
/// Identifies a conversation event.
public typealias EventID = Identifier<EventTag>
/// Identifies a canned response.
public typealias CannedResponseID = Identifier<CannedResponseTag>
/// Identifies an offline message.
public typealias OfflineMessageID = Identifier<OfflineMessageTag>
