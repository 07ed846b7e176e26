import ConfidantCore
import NIOCore
import NIOWebSocket
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
    /// Supervisors watching one conversation live.
    case conversation(ConversationID)
    /// Staff who manage security: security alerts.
    case securityAlerts
    /// Supervisors (`monitor`) of one department (nil: conversations of no department, which
    /// every supervisor may see).
    case supervision(DepartmentID?)
    /// Supervisors of every department.
    case allSupervision
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

/// One connected socket's handle for fan-out. Items are applied in order on the socket's event
/// loop by its ``OutboundWriter``; sending never blocks and never waits for the peer.
final class SocketConnection: Sendable {
    private static let counter = Atomic<Int>(0)

    /// Unique within the process.
    let id: Int
    /// Visitor or staff.
    let audience: Audience
    private let eventLoop: any EventLoop
    private let writer: NIOLoopBound<OutboundWriter>

    /// Creates the connection of `channel`; call on the channel's event loop. A reader too slow
    /// to take `limit` more frames once the socket's buffer is full is disconnected (close 1013)
    /// rather than allowed to grow server memory; on reconnect it resumes from its last sequence number.
    init(channel: any Channel, audience: Audience, limit: Int) {
        self.id = Self.counter.add(1, ordering: .relaxed).newValue
        self.audience = audience
        self.eventLoop = channel.eventLoop
        self.writer = NIOLoopBound(OutboundWriter(channel: channel, limit: limit), eventLoop: channel.eventLoop)
    }

    /// Queues an item for the socket. Items sent from one task arrive in the order sent.
    func send(_ item: Outbound) {
        let writer = self.writer
        eventLoop.execute { writer.value.apply(item) }
    }

    /// Whether this side has sent its close frame; read on the socket's event loop only.
    var sentClose: Bool { writer.value.isClosing }
}

/// The socket's only writer, on its event loop. Holds live entries of a conversation while its
/// catch-up is being read, then sends the catch-up (everything after the client's `afterSeq`, as
/// asked) and only the held entries newer than it: a conversation's sequence numbers are assigned
/// in commit order, so an entry not newer than the catch-up's last one was in it. Live entries not
/// newer than what was last sent are dropped.
final class OutboundWriter {
    private let channel: any Channel
    private let limit: Int
    private var lastSent: [ConversationID: Int64] = [:]
    private var held: [ConversationID: [(seq: Int64, text: String)]] = [:]
    /// Frames written since the socket's buffer last had room.
    private var writtenWhileFull = 0
    private(set) var isClosing = false

    init(channel: any Channel, limit: Int) {
        self.channel = channel
        self.limit = limit
    }

    func apply(_ item: Outbound) {
        guard !isClosing else { return }
        switch item {
        case .frame(let text):
            write(text)
        case .entry(let conversation, let seq, let text):
            if held[conversation] != nil {
                held[conversation]!.append((seq, text))
            } else if seq > lastSent[conversation, default: 0] {
                write(text)
                lastSent[conversation] = seq
            }
        case .beginCatchUp(let conversation):
            held[conversation] = held[conversation] ?? []
        case .catchUp(let conversation, let afterSeq, let entries, let done):
            var upTo = afterSeq
            for entry in entries {
                write(entry.text)
                upTo = max(upTo, entry.seq)
            }
            for entry in held.removeValue(forKey: conversation) ?? [] where entry.seq > upTo {
                write(entry.text)
                upTo = entry.seq
            }
            lastSent[conversation] = max(upTo, lastSent[conversation, default: 0])
            write(done)
        case .close(let code, let reason):
            close(code: code, reason: reason)
        }
        channel.flush()
    }

    private func write(_ text: String) {
        guard !isClosing else { return }
        if channel.isWritable {
            writtenWhileFull = 0
        } else {
            writtenWhileFull += 1
            if writtenWhileFull > limit {
                close(code: CloseCode.tryAgainLater, reason: "slow consumer")
                return
            }
        }
        channel.write(WebSocketFrame(fin: true, opcode: .text, data: channel.allocator.buffer(string: text)), promise: nil)
    }

    /// Sends a close frame and stops writing and reading: nothing the peer still sends is looked at
    /// (a flooding client would otherwise keep the server decoding its frames until the end). The
    /// connection ends after a grace period that lets the close frame reach the peer; a client
    /// disconnected for its behaviour (1008, 1013) is cut off as soon as it is flushed.
    private func close(code: UInt16, reason: String) {
        isClosing = true
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
        data.writeString(reason)
        let channel = self.channel
        let flushed = channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
        if code == CloseCode.policyViolation || code == CloseCode.tryAgainLater {
            flushed.whenComplete { _ in channel.close(promise: nil) }
        }
        channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
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

    /// Removes a connection from one topic.
    func unsubscribe(_ connection: SocketConnection, from topic: Topic) {
        topicsOfConnection[connection.id]?.remove(topic)
        subscribers[topic]?[connection.id] = nil
        if subscribers[topic]?.isEmpty == true { subscribers[topic] = nil }
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
