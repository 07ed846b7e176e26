/// The real-time protocol's version. A client names it in `hello`; the server refuses others.
public enum ProtocolVersion {
    /// The version this server speaks.
    public static let current = 1
    /// Every version this server accepts.
    public static let supported: Set<Int> = [1]
}

/// Where a reconnecting client left off in one conversation.
public struct ResumePoint: Codable, Sendable, Equatable {
    public var conversationId: ConversationID
    /// The highest sequence number the client has seen (0 for none).
    public var afterSeq: Int64

    /// Creates a resume point.
    public init(conversationId: ConversationID, afterSeq: Int64) {
        self.conversationId = conversationId
        self.afterSeq = afterSeq
    }
}

/// What a browser form tells about its filling, against naive bots: the hidden honeypot field
/// (people leave it empty) and how long the form was on screen before it was sent.
public struct FormSignals: Codable, Sendable, Equatable {
    /// The value of the field hidden from people; anything but empty means a bot filled it.
    public var honeypot: String?
    /// Milliseconds between showing the form and sending it.
    public var fillMs: Int?

    /// Creates form signals.
    public init(honeypot: String? = nil, fillMs: Int? = nil) {
        self.honeypot = honeypot
        self.fillMs = fillMs
    }
}

/// A frame sent by a client (visitor or agent). docs/protocol.md has an example of each.
public enum ClientFrame: Sendable, Equatable {
    /// First frame on every socket: protocol version, the visitor token (visitors only) and
    /// where to resume.
    case hello(protocolVersion: Int, token: String?, resume: [ResumePoint])
    /// Application-level heartbeat; answered with `pong`.
    case ping(t: Int64?)
    /// Visitor: start (or return to) a conversation. `language` is the widget's (`en`, `hu`,
    /// `es`, …); `consent` says the visitor agreed to the site's privacy policy.
    case openConversation(
        departmentId: DepartmentID?, name: String?, email: String?, pageUrl: String?, language: String? = nil, consent: Bool = false, form: FormSignals? = nil)
    /// Send a message; `clientId` makes a resend idempotent.
    case sendMessage(conversationId: ConversationID, clientId: String, body: String, visibility: Visibility)
    /// Typing indicator (not stored).
    case typing(conversationId: ConversationID, active: Bool, visibility: Visibility)
    /// Read receipt up to a sequence number.
    case read(conversationId: ConversationID, seq: Int64)
    /// Ask for every entry after `afterSeq`; answered by the entries and `sync.done`.
    case sync(conversationId: ConversationID, afterSeq: Int64)
    /// Agent: set availability.
    case setAvailability(Availability)
    /// Agent: take a queued conversation.
    case accept(conversationId: ConversationID)
    /// Agent: hand a conversation to another agent or a department.
    case transfer(conversationId: ConversationID, toAgentId: AgentID?, toDepartmentId: DepartmentID?)
    /// Close a conversation.
    case close(conversationId: ConversationID)
    /// Supervisor: follow a conversation of one's departments live, without the visitor being
    /// told; answered by its entries so far and `sync.done`, then every new entry.
    case watch(conversationId: ConversationID)
    /// Supervisor: stop following a watched conversation.
    case unwatch(conversationId: ConversationID)
    /// Visitor: rate a conversation 1–5 with an optional comment.
    case rate(conversationId: ConversationID, score: Int, comment: String?)
    /// Visitor: leave a message while no agent is online.
    case leaveOfflineMessage(clientId: String, departmentId: DepartmentID?, name: String?, email: String?, body: String, form: FormSignals? = nil)
    /// Visitor: withdraw consent to the site's privacy policy (open conversations end).
    case withdrawConsent
    /// Visitor: delete a closed conversation of theirs, when the site allows it.
    case deleteConversation(conversationId: ConversationID)

    /// The frame's `type` on the wire.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .ping: "ping"
        case .openConversation: "conversation.open"
        case .sendMessage: "message.send"
        case .typing: "typing"
        case .read: "read"
        case .sync: "sync"
        case .setAvailability: "availability.set"
        case .accept: "conversation.accept"
        case .transfer: "conversation.transfer"
        case .close: "conversation.close"
        case .watch: "conversation.watch"
        case .unwatch: "conversation.unwatch"
        case .rate: "conversation.rate"
        case .leaveOfflineMessage: "offline.leave"
        case .withdrawConsent: "consent.withdraw"
        case .deleteConversation: "conversation.delete"
        }
    }

    /// The conversation a frame targets, if any.
    public var conversationId: ConversationID? {
        switch self {
        case .sendMessage(let id, _, _, _), .typing(let id, _, _), .read(let id, _), .sync(let id, _), .accept(let id),
            .transfer(let id, _, _), .close(let id), .rate(let id, _, _), .watch(let id), .unwatch(let id), .deleteConversation(let id):
            id
        case .hello, .ping, .openConversation, .setAvailability, .leaveOfflineMessage, .withdrawConsent:
            nil
        }
    }
}

/// A client frame with its optional correlation `ref`, echoed on the reply.
public struct ClientEnvelope: Sendable, Equatable {
    /// The client's correlation id for the reply (1–64 token characters).
    public var ref: String?
    /// The frame.
    public var frame: ClientFrame

    /// Creates an envelope.
    public init(ref: String? = nil, _ frame: ClientFrame) {
        self.ref = ref
        self.frame = frame
    }
}

extension ClientEnvelope: Codable {
    enum Keys: String, CodingKey {
        case type, ref, `protocol`, token, resume, t, departmentId, name, email, pageUrl, language, consent, conversationId, clientId, body
        case visibility, active, seq, afterSeq, availability, toAgentId, toDepartmentId, score, comment, form
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decode(String.self, forKey: .type)
        ref = try c.decodeIfPresent(String.self, forKey: .ref)
        switch type {
        case "hello":
            frame = .hello(
                protocolVersion: try c.decode(Int.self, forKey: .protocol),
                token: try c.decodeIfPresent(String.self, forKey: .token),
                resume: try c.decodeIfPresent([ResumePoint].self, forKey: .resume) ?? []
            )
        case "ping":
            frame = .ping(t: try c.decodeIfPresent(Int64.self, forKey: .t))
        case "conversation.open":
            frame = .openConversation(
                departmentId: try c.decodeIfPresent(DepartmentID.self, forKey: .departmentId),
                name: try c.decodeIfPresent(String.self, forKey: .name),
                email: try c.decodeIfPresent(String.self, forKey: .email),
                pageUrl: try c.decodeIfPresent(String.self, forKey: .pageUrl),
                language: try c.decodeIfPresent(String.self, forKey: .language),
                consent: try c.decodeIfPresent(Bool.self, forKey: .consent) ?? false,
                form: try c.decodeIfPresent(FormSignals.self, forKey: .form)
            )
        case "message.send":
            frame = .sendMessage(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                clientId: try c.decode(String.self, forKey: .clientId),
                body: try c.decode(String.self, forKey: .body),
                visibility: try c.decodeIfPresent(Visibility.self, forKey: .visibility) ?? .public
            )
        case "typing":
            frame = .typing(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                active: try c.decode(Bool.self, forKey: .active),
                visibility: try c.decodeIfPresent(Visibility.self, forKey: .visibility) ?? .public
            )
        case "read":
            frame = .read(conversationId: try c.decode(ConversationID.self, forKey: .conversationId), seq: try c.decode(Int64.self, forKey: .seq))
        case "sync":
            frame = .sync(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                afterSeq: try c.decode(Int64.self, forKey: .afterSeq)
            )
        case "availability.set":
            frame = .setAvailability(try c.decode(Availability.self, forKey: .availability))
        case "conversation.accept":
            frame = .accept(conversationId: try c.decode(ConversationID.self, forKey: .conversationId))
        case "conversation.transfer":
            frame = .transfer(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                toAgentId: try c.decodeIfPresent(AgentID.self, forKey: .toAgentId),
                toDepartmentId: try c.decodeIfPresent(DepartmentID.self, forKey: .toDepartmentId)
            )
        case "conversation.close":
            frame = .close(conversationId: try c.decode(ConversationID.self, forKey: .conversationId))
        case "consent.withdraw":
            frame = .withdrawConsent
        case "conversation.delete":
            frame = .deleteConversation(conversationId: try c.decode(ConversationID.self, forKey: .conversationId))
        case "conversation.watch":
            frame = .watch(conversationId: try c.decode(ConversationID.self, forKey: .conversationId))
        case "conversation.unwatch":
            frame = .unwatch(conversationId: try c.decode(ConversationID.self, forKey: .conversationId))
        case "conversation.rate":
            frame = .rate(
                conversationId: try c.decode(ConversationID.self, forKey: .conversationId),
                score: try c.decode(Int.self, forKey: .score),
                comment: try c.decodeIfPresent(String.self, forKey: .comment)
            )
        case "offline.leave":
            frame = .leaveOfflineMessage(
                clientId: try c.decode(String.self, forKey: .clientId),
                departmentId: try c.decodeIfPresent(DepartmentID.self, forKey: .departmentId),
                name: try c.decodeIfPresent(String.self, forKey: .name),
                email: try c.decodeIfPresent(String.self, forKey: .email),
                body: try c.decode(String.self, forKey: .body),
                form: try c.decodeIfPresent(FormSignals.self, forKey: .form)
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
        case .hello(let version, let token, let resume):
            try c.encode(version, forKey: .protocol)
            try c.encodeIfPresent(token, forKey: .token)
            if !resume.isEmpty { try c.encode(resume, forKey: .resume) }
        case .ping(let t):
            try c.encodeIfPresent(t, forKey: .t)
        case .openConversation(let departmentId, let name, let email, let pageUrl, let language, let consent, let form):
            try c.encodeIfPresent(form, forKey: .form)
            try c.encodeIfPresent(departmentId, forKey: .departmentId)
            try c.encodeIfPresent(name, forKey: .name)
            try c.encodeIfPresent(email, forKey: .email)
            try c.encodeIfPresent(pageUrl, forKey: .pageUrl)
            try c.encodeIfPresent(language, forKey: .language)
            if consent { try c.encode(consent, forKey: .consent) }
        case .sendMessage(let conversationId, let clientId, let body, let visibility):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(clientId, forKey: .clientId)
            try c.encode(body, forKey: .body)
            try c.encode(visibility, forKey: .visibility)
        case .typing(let conversationId, let active, let visibility):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(active, forKey: .active)
            try c.encode(visibility, forKey: .visibility)
        case .read(let conversationId, let seq):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(seq, forKey: .seq)
        case .sync(let conversationId, let afterSeq):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(afterSeq, forKey: .afterSeq)
        case .setAvailability(let availability):
            try c.encode(availability, forKey: .availability)
        case .accept(let conversationId), .close(let conversationId), .watch(let conversationId), .unwatch(let conversationId),
            .deleteConversation(let conversationId):
            try c.encode(conversationId, forKey: .conversationId)
        case .withdrawConsent:
            break
        case .transfer(let conversationId, let toAgentId, let toDepartmentId):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encodeIfPresent(toAgentId, forKey: .toAgentId)
            try c.encodeIfPresent(toDepartmentId, forKey: .toDepartmentId)
        case .rate(let conversationId, let score, let comment):
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(score, forKey: .score)
            try c.encodeIfPresent(comment, forKey: .comment)
        case .leaveOfflineMessage(let clientId, let departmentId, let name, let email, let body, let form):
            try c.encodeIfPresent(form, forKey: .form)
            try c.encode(clientId, forKey: .clientId)
            try c.encodeIfPresent(departmentId, forKey: .departmentId)
            try c.encodeIfPresent(name, forKey: .name)
            try c.encodeIfPresent(email, forKey: .email)
            try c.encode(body, forKey: .body)
        }
    }
}

struct UnknownFrameType: Error {
    let type: String
}
