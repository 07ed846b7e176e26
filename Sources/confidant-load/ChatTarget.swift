import NIOCore

/// The sockets of one visitor–agent pair and how to address a message from each side.
struct ChatPair: Sendable {
    let visitor: LoadSocket
    let agent: LoadSocket
    /// The frame that carries message `number` with `body` from the visitor to the agent.
    let toAgent: @Sendable (_ number: Int, _ body: String) -> String
    /// The frame that carries message `number` with `body` from the agent to the visitor.
    let toVisitor: @Sendable (_ number: Int, _ body: String) -> String
}

/// A server the load tool can drive: Confidant, an XMPP server, or the raw relay.
protocol ChatTarget: Sendable {
    /// Creates what the run needs (accounts, a site) before any socket opens.
    func prepare() async throws
    /// Classifies a received frame for the accounting; runs on an event loop for every frame.
    func classify(_ frame: ByteBuffer) -> Inbound
    /// Opens the socket of visitor `index` as a widget on a page does, before any chat.
    func openIdleVisitor(_ index: Int, source: String?, sink: @escaping TextSink) async throws -> LoadSocket
    /// Connects agent `index`, ready to take `chats` chats at once; returns the key `connectPair` finds it by.
    func connectAgent(_ index: Int, chats: Int, sink: @escaping TextSink) async throws -> (key: String, socket: LoadSocket)
    /// Connects visitor `index` and starts a chat with an agent: the one the server routes it to,
    /// or, for servers without routing, agent `index / chatsPerAgent`.
    func connectPair(_ index: Int, chatsPerAgent: Int, agents: [String: LoadSocket], sink: @escaping TextSink) async throws -> ChatPair
}

/// Runs `body` for every index in `range`, at most `width` at a time, and returns the results in order.
func concurrentMap<T: Sendable>(_ range: Range<Int>, width: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: range.count)
        var next = range.lowerBound
        while next < range.upperBound && next - range.lowerBound < width {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while let (index, value) = try await group.next() {
            results[index - range.lowerBound] = value
            if next < range.upperBound {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
