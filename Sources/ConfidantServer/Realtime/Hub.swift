import ConfidantCore
import Synchronization

/// A group of sockets a frame can be addressed to.
enum Topic: Hashable, Sendable {
    /// Every socket of one visitor.
    case visitor(VisitorID)
    /// Every socket of one staff member.
    case agent(AgentID)
    /// Every staff socket (availability changes).
    case staff
    /// Staff who may take from one department's queue (nil: the general queue).
    case queue(DepartmentID?)
    /// Staff who may take from every queue.
    case allQueues
    /// Every socket opened with one session (closed when the session ends).
    case session(String)
}

/// Whose eyes a socket serves; decides which rendering of a frame it gets.
enum Audience: Sendable {
    case visitor
    case staff
}

/// One item in a socket's outbound queue. The socket's writer handles them in order.
enum Outbound: Sendable {
    /// A frame to send as is.
    case frame(String)
    /// A timeline entry; the writer drops entries it already sent and holds them during a catch-up.
    case entry(ConversationID, seq: Int64, text: String)
    /// Start holding live entries of a conversation until its catch-up arrives.
    case beginCatchUp(ConversationID)
    /// Every entry after `afterSeq` (in order) and the `sync.done` frame that ends the catch-up.
    case catchUp(ConversationID, afterSeq: Int64, entries: [(seq: Int64, text: String)], done: String)
    /// Close the socket with a code and reason.
    case close(code: UInt16, reason: String)
}

/// A frame rendered once per audience; nil means that audience must not get it.
struct Rendered: Sendable {
    var visitor: Outbound?
    var staff: Outbound?

    /// The same item for both audiences.
    static func both(_ item: Outbound) -> Rendered { Rendered(visitor: item, staff: item) }
    /// Staff only.
    static func staffOnly(_ item: Outbound) -> Rendered { Rendered(visitor: nil, staff: item) }
}

/// One connected socket's handle for fan-out: a bounded queue drained by the socket's writer.
final class SocketConnection: Sendable {
    private static let counter = Atomic<Int>(0)

    /// Unique within the process.
    let id: Int
    /// Visitor or staff.
    let audience: Audience
    private let continuation: AsyncStream<Outbound>.Continuation
    private let overflowed = Atomic<Bool>(false)

    /// Creates a connection and the stream its writer drains. The queue holds at most `limit`
    /// items: a reader too slow to keep up is disconnected (close 1013) rather than allowed to
    /// grow server memory; on reconnect it resumes from its last sequence number.
    static func make(audience: Audience, limit: Int) -> (SocketConnection, AsyncStream<Outbound>) {
        let (stream, continuation) = AsyncStream<Outbound>.makeStream(bufferingPolicy: .bufferingOldest(limit))
        return (SocketConnection(audience: audience, continuation: continuation), stream)
    }

    private init(audience: Audience, continuation: AsyncStream<Outbound>.Continuation) {
        self.id = Self.counter.add(1, ordering: .relaxed).newValue
        self.audience = audience
        self.continuation = continuation
    }

    /// Queues an item; if the queue is full the connection is marked overflowed and finished.
    func send(_ item: Outbound) {
        if case .dropped = continuation.yield(item) {
            overflowed.store(true, ordering: .relaxed)
            continuation.finish()
        }
    }

    /// Ends the outbound stream (the writer then closes the socket).
    func finish() {
        continuation.finish()
    }

    /// Whether items were dropped because the client read too slowly.
    var didOverflow: Bool { overflowed.load(ordering: .relaxed) }
}

/// Fans frames out to the sockets connected to this node. It holds no state that must survive:
/// who is subscribed to what is rebuilt as sockets reconnect, and missed entries are read back
/// from the database by sequence number. (Multi-node fan-out adds a PostgreSQL LISTEN/NOTIFY
/// bridge that calls ``publish(_:to:except:)`` on every node.)
actor Hub {
    private var subscribers: [Topic: [Int: SocketConnection]] = [:]
    private var topicsOfConnection: [Int: Set<Topic>] = [:]

    /// Adds a connection to topics.
    func subscribe(_ connection: SocketConnection, to topics: [Topic]) {
        for topic in topics {
            subscribers[topic, default: [:]][connection.id] = connection
            topicsOfConnection[connection.id, default: []].insert(topic)
        }
    }

    /// Removes a connection from every topic.
    func unsubscribe(_ connection: SocketConnection) {
        for topic in topicsOfConnection.removeValue(forKey: connection.id) ?? [] {
            subscribers[topic]?[connection.id] = nil
            if subscribers[topic]?.isEmpty == true { subscribers[topic] = nil }
        }
    }

    /// Sends `rendered` once to every connection in any of `topics`, except `excluded`.
    func publish(_ rendered: Rendered, to topics: [Topic], except excluded: Int? = nil) {
        var seen = Set<Int>()
        for topic in topics {
            for (id, connection) in subscribers[topic] ?? [:] where id != excluded && seen.insert(id).inserted {
                let item = connection.audience == .visitor ? rendered.visitor : rendered.staff
                if let item { connection.send(item) }
            }
        }
    }

    /// How many connections are subscribed to `topic`.
    func count(_ topic: Topic) -> Int {
        subscribers[topic]?.count ?? 0
    }

    /// Staff members with at least one socket on this node, and how many.
    func connectedAgents() -> [AgentID: Int] {
        var result: [AgentID: Int] = [:]
        for (topic, connections) in subscribers {
            if case .agent(let id) = topic { result[id] = connections.count }
        }
        return result
    }
}
