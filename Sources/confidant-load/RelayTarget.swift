import NIOCore

/// Drives the raw relay (`raw-relay`): a socket per user at `/relay/NAME`; a frame starts with
/// the recipient's name, then the message number.
struct RelayTarget: ChatTarget {
    let host: String
    let port: Int

    func prepare() async throws {}

    func classify(_ frame: ByteBuffer) -> Inbound {
        frame.number(after: Self.numberMarker).map(Inbound.message) ?? .other
    }

    private static let numberMarker = Array(" m".utf8)

    func openIdleVisitor(_ index: Int, source: String?, sink: @escaping TextSink) async throws -> LoadSocket {
        try await LoadSocket.connect(host: host, port: port, path: "/relay/v\(index)", source: source, sink: sink)
    }

    func connectAgent(_ index: Int, chats: Int, sink: @escaping TextSink) async throws -> (key: String, socket: LoadSocket) {
        ("a\(index)", try await LoadSocket.connect(host: host, port: port, path: "/relay/a\(index)", sink: sink))
    }

    func connectPair(_ index: Int, chatsPerAgent: Int, agents: [String: LoadSocket], sink: @escaping TextSink) async throws -> ChatPair {
        let agentName = "a\(index / chatsPerAgent)"
        guard let agent = agents[agentName] else { throw LoadError("No agent \(agentName).") }
        let visitor = try await LoadSocket.connect(host: host, port: port, path: "/relay/v\(index)", sink: sink)
        return ChatPair(
            visitor: visitor, agent: agent,
            toAgent: { number, body in "\(agentName) m\(number) \(body)" },
            toVisitor: { number, body in "v\(index) m\(number) \(body)" }
        )
    }
}
