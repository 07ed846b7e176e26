import Foundation
import NIOCore

/// Drives an XMPP server (ejabberd, Prosody) over WebSocket (RFC 7395): each simulated user has
/// an account of its own (registered in band, XEP-0077), signs in with SASL PLAIN, binds a
/// resource, sends presence, and exchanges `<message type="chat">` stanzas whose `id` carries
/// the message number.
struct XMPPTarget: ChatTarget {
    let host: String
    let port: Int
    let path: String
    let domain: String
    let password: String

    func prepare() async throws {}

    func classify(_ frame: ByteBuffer) -> Inbound {
        if frame.starts(with: Self.messageStart) {
            if frame.offset(after: Self.errorType) != nil || frame.offset(after: Self.errorTypeSingle) != nil {
                return .error(String(buffer: frame))
            }
            return (frame.number(after: Self.idMarker) ?? frame.number(after: Self.idMarkerSingle)).map(Inbound.message) ?? .other
        }
        if frame.starts(with: Self.streamError) { return .error(String(buffer: frame)) }
        return .other
    }

    private static let messageStart = Array("<message".utf8)
    private static let idMarker = Array(#" id="m"#.utf8)
    private static let idMarkerSingle = Array(" id='m".utf8)
    private static let errorType = Array(#"type="error""#.utf8)
    private static let errorTypeSingle = Array("type='error'".utf8)
    private static let streamError = Array("<stream:error".utf8)

    func openIdleVisitor(_ index: Int, source: String?, sink: @escaping TextSink) async throws -> LoadSocket {
        try await signIn("v\(index)", source: source, sink: sink)
    }

    func connectAgent(_ index: Int, chats: Int, sink: @escaping TextSink) async throws -> (key: String, socket: LoadSocket) {
        ("a\(index)", try await signIn("a\(index)", source: nil, sink: sink))
    }

    func connectPair(_ index: Int, chatsPerAgent: Int, agents: [String: LoadSocket], sink: @escaping TextSink) async throws -> ChatPair {
        let agentName = "a\(index / chatsPerAgent)"
        guard let agent = agents[agentName] else { throw LoadError("No agent \(agentName).") }
        let visitor = try await signIn("v\(index)", source: nil, sink: sink)
        let agentJID = "\(agentName)@\(domain)/load"
        let visitorJID = "v\(index)@\(domain)/load"
        return ChatPair(
            visitor: visitor, agent: agent,
            toAgent: { number, body in #"<message xmlns="jabber:client" to="\#(agentJID)" type="chat" id="m\#(number)"><body>\#(body)</body></message>"# },
            toVisitor: { number, body in #"<message xmlns="jabber:client" to="\#(visitorJID)" type="chat" id="m\#(number)"><body>\#(body)</body></message>"# }
        )
    }

    /// Registers `user` (an existing account is fine), signs in, binds resource `load` and
    /// announces presence, waiting for each step's answer.
    private func signIn(_ user: String, source: String?, sink: @escaping TextSink) async throws -> LoadSocket {
        let socket = try await LoadSocket.connect(host: host, port: port, path: path, headers: [("Sec-WebSocket-Protocol", "xmpp")], source: source, sink: sink)
        let open = #"<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="\#(domain)" version="1.0"/>"#
        _ = try await socket.request(open) { $0.contains("features") }
        let registered = try await socket.request(
            #"<iq xmlns="jabber:client" type="set" id="reg"><query xmlns="jabber:iq:register"><username>\#(user)</username><password>\#(password)</password></query></iq>"#
        ) { Self.isReply(to: "reg", $0) }
        guard !registered.contains("error") || registered.contains("conflict") else { throw LoadError("Registering \(user) failed: \(registered)") }
        let credentials = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
        let auth = try await socket.request(#"<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">\#(credentials)</auth>"#) {
            $0.contains("<success") || $0.contains("<failure")
        }
        guard auth.contains("<success") else { throw LoadError("Signing in \(user) failed: \(auth)") }
        _ = try await socket.request(open) { $0.contains("features") }
        let bound = try await socket.request(
            #"<iq xmlns="jabber:client" type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>load</resource></bind></iq>"#
        ) { Self.isReply(to: "bind", $0) }
        guard bound.contains("<jid>") else { throw LoadError("Binding \(user) failed: \(bound)") }
        // Initial presence makes the resource available; the server echoes it to the user's own resources.
        _ = try await socket.request(#"<presence xmlns="jabber:client"/>"#) { $0.hasPrefix("<presence") }
        return socket
    }

    private static func isReply(to id: String, _ text: String) -> Bool {
        text.hasPrefix("<iq") && (text.contains(#"id="\#(id)""#) || text.contains("id='\(id)'"))
    }
}
