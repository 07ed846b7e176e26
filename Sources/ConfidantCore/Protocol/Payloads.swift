/// Who wrote a message or caused an event, as clients see it.
public struct Author: Codable, Sendable, Equatable {
    /// Visitor, agent or system.
    public var kind: AuthorKind
    /// The visitor's or agent's id; nil for the system.
    public var id: String?
    /// A display name: the agent's display name; for visitors only sent to staff.
    public var name: String?

    /// Creates an author.
    public init(kind: AuthorKind, id: String?, name: String? = nil) {
        self.kind = kind
        self.id = id
        self.name = name
    }

    /// The system author used for automatic events (routing).
    public static let system = Author(kind: .system, id: nil)
}

/// A conversation as lists, `welcome` and REST responses show it.
/// A visitor's identity as signed by the site's backend (see docs/security.md, "Verified visitors").
public struct VerifiedVisitor: Codable, Sendable, Equatable {
    /// The site's own user id.
    public var userId: String
    public var email: String?
    public var name: String?
    /// When the identity was last verified (Unix ms).
    public var verifiedAt: Int64

    /// Creates a verified identity.
    public init(userId: String, email: String?, name: String?, verifiedAt: Int64) {
        self.userId = userId
        self.email = email
        self.name = name
        self.verifiedAt = verifiedAt
    }
}

public struct ConversationSummary: Codable, Sendable, Equatable {
    public var id: ConversationID
    public var siteId: SiteID
    public var departmentId: DepartmentID?
    public var visitorId: VisitorID
    public var state: ConversationState
    public var agent: Author?
    /// The newest sequence number in the conversation (messages and events).
    public var lastSeq: Int64
    /// Unix milliseconds.
    public var createdAt: Int64
    public var assignedAt: Int64?
    public var closedAt: Int64?
    /// 1-based place in the department's queue while queued.
    public var queuePosition: Int?
    /// While queued: an estimate of the wait in seconds (see ``QueueEntry/expectedWaitSeconds``).
    public var expectedWaitSeconds: Int?
    public var rating: Int?
    /// The visitor's name, sent to staff only.
    public var visitorName: String?
    /// The visitor's e-mail, sent to staff only.
    public var visitorEmail: String?
    /// The page the visitor was on, sent to staff only.
    public var pageUrl: String?
    /// The widget's language when the conversation started (`en`, `hu`, `es`, …).
    public var language: String?
    /// When the visitor agreed to the site's privacy policy (Unix ms), if the site asked.
    public var consentAt: Int64?
    /// The identity the site's backend signed for this visitor (staff only); nil if unverified.
    public var verifiedVisitor: VerifiedVisitor?
    /// How far the visitor has read (their read receipt), so a reconnecting client shows it.
    public var visitorReadSeq: Int64?
    /// How far any agent has read the conversation.
    public var agentReadSeq: Int64?

    /// Creates a summary.
    public init(
        id: ConversationID, siteId: SiteID, departmentId: DepartmentID?, visitorId: VisitorID, state: ConversationState,
        agent: Author?, lastSeq: Int64, createdAt: Int64, assignedAt: Int64?, closedAt: Int64?, queuePosition: Int? = nil,
        expectedWaitSeconds: Int? = nil, rating: Int? = nil, visitorName: String? = nil, visitorEmail: String? = nil, pageUrl: String? = nil,
        language: String? = nil, consentAt: Int64? = nil
    ) {
        self.id = id
        self.siteId = siteId
        self.departmentId = departmentId
        self.visitorId = visitorId
        self.state = state
        self.agent = agent
        self.lastSeq = lastSeq
        self.createdAt = createdAt
        self.assignedAt = assignedAt
        self.closedAt = closedAt
        self.queuePosition = queuePosition
        self.expectedWaitSeconds = expectedWaitSeconds
        self.rating = rating
        self.visitorName = visitorName
        self.visitorEmail = visitorEmail
        self.pageUrl = pageUrl
        self.language = language
        self.consentAt = consentAt
    }

    /// The summary without the fields only staff may see.
    public var forVisitor: ConversationSummary {
        var copy = self
        copy.visitorName = nil
        copy.visitorEmail = nil
        copy.pageUrl = nil
        return copy
    }
}

/// A stored message as delivered to clients.
public struct MessagePayload: Codable, Sendable, Equatable {
    public var conversationId: ConversationID
    public var id: MessageID
    public var seq: Int64
    public var clientId: String
    public var author: Author
    public var body: String
    public var visibility: Visibility
    /// Unix milliseconds.
    public var createdAt: Int64
    /// Where `body` was masked on arrival (card numbers and the like); absent when nothing was.
    public var redactions: [RedactionMark]?

    /// Creates a message payload.
    public init(
        conversationId: ConversationID, id: MessageID, seq: Int64, clientId: String, author: Author, body: String, visibility: Visibility, createdAt: Int64,
        redactions: [RedactionMark]? = nil
    ) {
        self.conversationId = conversationId
        self.id = id
        self.seq = seq
        self.clientId = clientId
        self.author = author
        self.body = body
        self.visibility = visibility
        self.createdAt = createdAt
        self.redactions = redactions
    }
}

/// A conversation event (assigned, transferred, closed, rated) as delivered to clients.
public struct ConversationEventPayload: Codable, Sendable, Equatable {
    public var conversationId: ConversationID
    public var id: EventID
    public var seq: Int64
    public var kind: ConversationEventKind
    /// Who caused it (the system for automatic routing).
    public var actor: Author
    /// For `assigned` and `transferred`: the agent now handling the conversation, if any.
    public var agent: Author?
    /// For `transferred`: the agent who had it before.
    public var fromAgent: Author?
    /// For `transferred` to a department.
    public var departmentId: DepartmentID?
    /// For `rated`: 1–5.
    public var score: Int?
    /// For `rated`: the visitor's comment.
    public var comment: String?
    /// Unix milliseconds.
    public var createdAt: Int64

    /// Creates an event payload.
    public init(
        conversationId: ConversationID, id: EventID, seq: Int64, kind: ConversationEventKind, actor: Author, agent: Author? = nil,
        fromAgent: Author? = nil, departmentId: DepartmentID? = nil, score: Int? = nil, comment: String? = nil, createdAt: Int64
    ) {
        self.conversationId = conversationId
        self.id = id
        self.seq = seq
        self.kind = kind
        self.actor = actor
        self.agent = agent
        self.fromAgent = fromAgent
        self.departmentId = departmentId
        self.score = score
        self.comment = comment
        self.createdAt = createdAt
    }
}

/// One entry of a conversation's timeline: everything that takes a sequence number.
public enum TimelineEntry: Sendable, Equatable {
    case message(MessagePayload)
    case event(ConversationEventPayload)

    /// The entry's conversation.
    public var conversationId: ConversationID {
        switch self {
        case .message(let m): m.conversationId
        case .event(let e): e.conversationId
        }
    }

    /// The entry's sequence number.
    public var seq: Int64 {
        switch self {
        case .message(let m): m.seq
        case .event(let e): e.seq
        }
    }

    /// Whether a visitor may see this entry (internal notes are staff-only).
    public var isVisibleToVisitor: Bool {
        if case .message(let m) = self { return m.visibility == .public }
        return true
    }

    /// The frame that carries this entry.
    public var frame: ServerFrame {
        switch self {
        case .message(let m): .message(m)
        case .event(let e): .event(e)
        }
    }
}

/// A queued conversation as agents see the queue.
public struct QueueEntry: Codable, Sendable, Equatable {
    public var conversationId: ConversationID
    public var siteId: SiteID
    public var departmentId: DepartmentID?
    public var visitorId: VisitorID
    /// Unix milliseconds when it (last) entered the queue.
    public var queuedAt: Int64
    /// 1-based place within its department's queue.
    public var position: Int
    /// An estimate of the wait in seconds: the position times the average wait of the
    /// department's recent conversations that had to wait (60 s per place without history).
    public var expectedWaitSeconds: Int

    /// Creates a queue entry.
    public init(
        conversationId: ConversationID, siteId: SiteID, departmentId: DepartmentID?, visitorId: VisitorID, queuedAt: Int64, position: Int,
        expectedWaitSeconds: Int
    ) {
        self.conversationId = conversationId
        self.siteId = siteId
        self.departmentId = departmentId
        self.visitorId = visitorId
        self.queuedAt = queuedAt
        self.position = position
        self.expectedWaitSeconds = expectedWaitSeconds
    }
}

/// A staff member as other staff and `welcome` see them.
public struct AgentProfile: Codable, Sendable, Equatable {
    public var id: AgentID
    public var displayName: String
    public var role: StaffRole
    public var departments: [DepartmentID]
    public var availability: Availability
    public var maxConversations: Int

    /// Creates a profile.
    public init(id: AgentID, displayName: String, role: StaffRole, departments: [DepartmentID], availability: Availability, maxConversations: Int) {
        self.id = id
        self.displayName = displayName
        self.role = role
        self.departments = departments
        self.availability = availability
        self.maxConversations = maxConversations
    }
}

/// A security alert raised from the audit log (an insider reading too much, an export), as the
/// console and the alert webhook receive it. Names who acted; never personal data of visitors.
public struct SecurityAlertPayload: Codable, Sendable, Equatable {
    /// Stable and unique: the rule and the audit entry that set it off (receivers dedupe on it).
    public var id: String
    /// `insider.transcripts` or `insider.export`.
    public var kind: String
    /// Unix milliseconds.
    public var raisedAt: Int64
    /// The staff member (or API token) who acted.
    public var actorKind: String
    public var actorId: String?
    /// Their display name when they are a staff member.
    public var actorName: String?
    /// What happened, in one sentence.
    public var summary: String
    /// The place in the audit chain of the entry that set it off.
    public var auditSeq: Int64
    /// Who acknowledged it and when; nil while open.
    public var acknowledgedBy: String?
    public var acknowledgedAt: Int64?

    /// Creates an alert.
    public init(
        id: String, kind: String, raisedAt: Int64, actorKind: String, actorId: String?, actorName: String?, summary: String, auditSeq: Int64,
        acknowledgedBy: String? = nil, acknowledgedAt: Int64? = nil
    ) {
        self.id = id
        self.kind = kind
        self.raisedAt = raisedAt
        self.actorKind = actorKind
        self.actorId = actorId
        self.actorName = actorName
        self.summary = summary
        self.auditSeq = auditSeq
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
    }
}

/// A visitor's consent as recorded: what they agreed to (the site's text, or the widget's default
/// in their language), which version, with which policy link, and when; and whether they withdrew it.
public struct ConsentRecord: Codable, Sendable, Equatable {
    public var version: String
    /// The site's own text they were shown; nil: the widget's default text in `language`.
    public var text: String?
    public var language: String?
    public var privacyPolicyUrl: String?
    /// Unix milliseconds.
    public var givenAt: Int64
    public var withdrawnAt: Int64?
}
