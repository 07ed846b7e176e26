/// Sent once after a successful `hello`.
public struct Welcome: Codable, Sendable, Equatable {
    /// The protocol version in use.
    public var `protocol`: Int
    /// Set on visitor sockets.
    public var visitorId: VisitorID?
    /// Set on agent sockets.
    public var agent: AgentProfile?
    /// Open conversations of this visitor, or active conversations assigned to this agent.
    public var conversations: [ConversationSummary]
    /// Agents only: the queue they can take from.
    public var queue: [QueueEntry]?
    /// Visitors only: whether any agent is online and available (if not, offer the offline form).
    public var agentsOnline: Bool?
    /// How often the client should `ping` when otherwise idle.
    public var heartbeatSeconds: Int
    /// Visitors only: their consent in force on this site, if any (the widget does not ask again
    /// for the same version).
    public var consent: ConsentRecord?

    /// Creates a welcome.
    public init(
        protocol: Int, visitorId: VisitorID?, agent: AgentProfile?, conversations: [ConversationSummary], queue: [QueueEntry]?, agentsOnline: Bool?,
        heartbeatSeconds: Int, consent: ConsentRecord? = nil
    ) {
        self.consent = consent
        self.protocol = `protocol`
        self.visitorId = visitorId
        self.agent = agent
        self.conversations = conversations
        self.queue = queue
        self.agentsOnline = agentsOnline
        self.heartbeatSeconds = heartbeatSeconds
    }
}

/// Acknowledges a stored message. Sent only after the message is committed.
public struct MessageAck: Codable, Sendable, Equatable {
    public var conversationId: ConversationID
    public var clientId: String
    public var messageId: MessageID
    public var seq: Int64
    public var createdAt: Int64
    /// True when this ack answers a resend of an already stored client id.
    public var duplicate: Bool
    /// When something was masked on arrival: the body as stored, which the sender shows instead
    /// of what was typed.
    public var body: String?
    /// Where `body` was masked.
    public var redactions: [RedactionMark]?

    /// Creates an ack.
    public init(
        conversationId: ConversationID, clientId: String, messageId: MessageID, seq: Int64, createdAt: Int64, duplicate: Bool,
        redacted: (body: String, marks: [RedactionMark])? = nil
    ) {
        self.conversationId = conversationId
        self.clientId = clientId
        self.messageId = messageId
        self.seq = seq
        self.createdAt = createdAt
        self.duplicate = duplicate
        self.body = redacted?.body
        self.redactions = redacted?.marks
    }
}

/// A frame sent by the server. docs/protocol.md has an example of each.
public enum ServerFrame: Sendable, Equatable {
    case welcome(Welcome)
    case pong(t: Int64?)
    case messageAck(MessageAck)
    case message(MessagePayload)
    case event(ConversationEventPayload)
    case typing(conversationId: ConversationID, author: Author, active: Bool)
    case read(conversationId: ConversationID, reader: Author, seq: Int64)
    case availability(agentId: AgentID, name: String, availability: Availability, online: Bool)
    case queue(departmentId: DepartmentID?, entries: [QueueEntry])
    case queuePosition(conversationId: ConversationID, position: Int, queueLength: Int, expectedWaitSeconds: Int)
    case conversationOpened(ConversationSummary)
    case syncDone(conversationId: ConversationID, lastSeq: Int64)
    case offlineAck(clientId: String, id: OfflineMessageID)
    /// A security alert, to staff who manage security (`security.alert`).
    case securityAlert(SecurityAlertPayload)
    /// To supervisors who may see the conversation: the guard held a staff reply that asked the
    /// visitor for a secret (`guard.held`; `secret` is `password`, `pin`, `card_number`, `cvv` or `one_time_code`).
    case guardHeld(conversationId: ConversationID, agent: Author, secret: String)
    case ok
    case error(code: ErrorCode, message: String, conversationId: ConversationID?)

    /// The frame's `type` on the wire.
    public var type: String {
        switch self {
        case .welcome: "welcome"
        case .pong: "pong"
        case .messageAck: "message.ack"
        case .message: "message"
        case .event(let e): "conversation.\(e.kind.rawValue)"
        case .typing: "typing"
        case .read: "read"
        case .availability: "availability"
        case .queue: "queue"
        case .queuePosition: "queue.position"
        case .conversationOpened: "conversation.opened"
        case .syncDone: "sync.done"
        case .offlineAck: "offline.ack"
        case .securityAlert: "security.alert"
        case .guardHeld: "guard.held"
        case .ok: "ok"
        case .error: "error"
        }
    }

    /// An error frame for a ``ConfidantError``.
    public static func error(_ error: ConfidantError, conversationId: ConversationID? = nil) -> ServerFrame {
        .error(code: error.code, message: error.message, conversationId: conversationId)
    }
}

/// A server frame with the `ref` of the client frame it answers, if any.
public struct ServerEnvelope: Sendable, Equatable {
    /// The `ref` of the client frame this answers.
    public var ref: String?
    /// The frame.
    public var frame: ServerFrame

    /// Creates an envelope.
    public init(ref: String? = nil, _ frame: ServerFrame) {
        self.ref = ref
        self.frame = frame
    }
}

extension ServerEnvelope: Codable {
    enum Keys: String, CodingKey {
        case type, ref, conversationId, author, active, reader, seq, agentId, name, availability, online, departmentId, entries
        case position, queueLength, expectedWaitSeconds, conversation, lastSeq, clientId, id, t, code, message, alert, agent, secret
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decode(String.self, forKey: .type)
        ref = try c.decodeIfPresent(String.self, forKey: .ref)
        switch type {
        case "welcome": frame = .welcome(try Welcome(from: decoder))
        case "pong": frame = .pong(t: try c.decodeIfPresent(Int64.self, forKey: .t))
        case "message.ack": frame = .messageAck(try MessageAck(from: decoder))
        case "message": frame = .message(try MessagePayload(from: decoder))
        case _ where type.hasPrefix("conversation.") && ConversationEventKind(rawValue: String(type.dropFirst(13))) != nil:
            frame = .event(try ConversationEventPayload(from: decoder))
        case "typing":
            frame = .typing(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                author: try c.decode(Author.self, forKey: .author),
                active: try c.decode(Bool.self, forKey: .active)
            )
        case "read":
            frame = .read(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                reader: try c.decode(Author.self, forKey: .reader),
                seq: try c.decode(Int64.self, forKey: .seq)
            )
        case "availability":
            frame = .availability(
                agentId: try c.decode(AgentID.self, forKey: .agentId),
                name: try c.decode(String.self, forKey: .name),
                availability: try c.decode(Availability.self, forKey: .availability),
                online: try c.decode(Bool.self, forKey: .online)
            )
        case "queue":
            frame = .queue(
                departmentId: try c.decodeIfPresent(DepartmentID.self, forKey: .departmentId),
                entries: try c.decode([QueueEntry].self, forKey: .entries)
            )
        case "queue.position":
            frame = .queuePosition(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                position: try c.decode(Int.self, forKey: .position),
                queueLength: try c.decode(Int.self, forKey: .queueLength),
                expectedWaitSeconds: try c.decode(Int.self, forKey: .expectedWaitSeconds)
            )
        case "conversation.opened": frame = .conversationOpened(try c.decode(ConversationSummary.self, forKey: .conversation))
        case "sync.done":
            frame = .syncDone(conversationId: try c.decode(ConversationID.self, forKey: .conversationId), lastSeq: try c.decode(Int64.self, forKey: .lastSeq))
        case "offline.ack":
            frame = .offlineAck(clientId: try c.decode(String.self, forKey: .clientId), id: try c.decode(OfflineMessageID.self, forKey: .id))
        case "security.alert": frame = .securityAlert(try c.decode(SecurityAlertPayload.self, forKey: .alert))
        case "guard.held":
            frame = .guardHeld(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId), agent: try c.decode(Author.self, forKey: .agent),
                secret: try c.decode(String.self, forKey: .secret))
        case "ok": frame = .ok
        case "error":
            frame = .error(
                code: try c.decode(ErrorCode.self, forKey: .code),
                message: try c.decode(String.self, forKey: .message),
                conversationId: try c.decodeIfPresent(ConversationID.self, forKey: .conversationId)
            )
        default:
            throw UnknownFrameType(type: type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(frame.type, forKey: .type)
        try c.encodeIfPresent(ref, forKey: .ref)
        switch frame {
        case .welcome(let welcome): try welcome.encode(to: encoder)
        case .pong(let t): try c.encodeIfPresent(t, forKey: .t)
        case .messageAck(let ack): try ack.encode(to: encoder)
        case .message(let message): try message.encode(to: encoder)
        case .event(let event): try event.encode(to: encoder)
        case .typing(let conversationId, let author, let active):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(author, forKey: .author)
            try c.encode(active, forKey: .active)
        case .read(let conversationId, let reader, let seq):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(reader, forKey: .reader)
            try c.encode(seq, forKey: .seq)
        case .availability(let agentId, let name, let availability, let online):
            try c.encode(agentId, forKey: .agentId)
            try c.encode(name, forKey: .name)
            try c.encode(availability, forKey: .availability)
            try c.encode(online, forKey: .online)
        case .queue(let departmentId, let entries):
            try c.encodeIfPresent(departmentId, forKey: .departmentId)
            try c.encode(entries, forKey: .entries)
        case .queuePosition(let conversationId, let position, let queueLength, let expectedWaitSeconds):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(position, forKey: .position)
            try c.encode(queueLength, forKey: .queueLength)
            try c.encode(expectedWaitSeconds, forKey: .expectedWaitSeconds)
        case .conversationOpened(let summary): try c.encode(summary, forKey: .conversation)
        case .syncDone(let conversationId, let lastSeq):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(lastSeq, forKey: .lastSeq)
        case .offlineAck(let clientId, let id):
            try c.encode(clientId, forKey: .clientId)
            try c.encode(id, forKey: .id)
        case .securityAlert(let alert): try c.encode(alert, forKey: .alert)
        case .guardHeld(let conversationId, let agent, let secret):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(agent, forKey: .agent)
            try c.encode(secret, forKey: .secret)
        case .ok: break
        case .error(let code, let message, let conversationId):
            try c.encode(code, forKey: .code)
            try c.encode(message, forKey: .message)
            try c.encodeIfPresent(conversationId, forKey: .conversationId)
        }
    }
}
