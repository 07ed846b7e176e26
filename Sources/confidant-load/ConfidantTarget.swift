import ConfidantCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Drives Confidant through its real protocol: the owner signs in and creates a site and agent
/// accounts over REST; agents sign in and open staff sockets; visitors get tokens from
/// `POST /v1/visitor/sessions` from the site's origin and chat over the visitor socket.
final class ConfidantTarget: ChatTarget {
    let host: String
    let port: Int
    let ownerEmail: String
    let ownerPassword: String
    /// The web page origin visitors come from (the site's allowed origin).
    let siteOrigin = "http://shop.load.test"
    private let publicOrigin: String
    private let agentPassword = "load-agent-password"
    private let setup = Mutex<(owner: (cookie: String, csrf: String), widgetKey: String, http: [HTTPConnection])?>(nil)

    init(host: String, port: Int, ownerEmail: String, ownerPassword: String) {
        self.host = host
        self.port = port
        self.ownerEmail = ownerEmail
        self.ownerPassword = ownerPassword
        publicOrigin = "http://\(host):\(port)"
    }

    func prepare() async throws {
        var http: [HTTPConnection] = []
        for _ in 0..<4 { http.append(try await HTTPConnection.connect(host: host, port: port)) }
        let signedIn = try await signIn(ownerEmail, ownerPassword, over: http[0])
        let owner = (cookie: signedIn.cookie, csrf: signedIn.csrf)
        let site = try await http[0].send(
            .POST, "/v1/sites", headers: [("Cookie", owner.cookie), ("X-CSRF-Token", owner.csrf), ("Origin", publicOrigin)],
            json: #"{"name":"Load test","allowedOrigins":["\#(siteOrigin)"]}"#)
        guard site.status == 201, let widgetKey = try Self.json(site.body)["widgetKey"] as? String else {
            throw LoadError("Creating the site failed: \(site.status) \(site.body)")
        }
        setup.withLock { $0 = (owner, widgetKey, http) }
    }

    private var state: (owner: (cookie: String, csrf: String), widgetKey: String, http: [HTTPConnection]) {
        get throws {
            guard let state = setup.withLock({ $0 }) else { throw LoadError("prepare() was not called.") }
            return state
        }
    }

    func classify(_ frame: ByteBuffer) -> Inbound {
        guard let type = frame.offset(after: Self.typeMarker) else { return .other }
        let view = frame.readableBytesView
        if view.dropFirst(type).starts(with: Self.messageType) {
            let after = view.dropFirst(type + Self.messageType.count)
            if after.first == UInt8(ascii: "\"") {
                return frame.number(after: Self.clientIDMarker).map(Inbound.message) ?? .other
            }
            if after.starts(with: Self.ackSuffix) {
                return frame.number(after: Self.clientIDMarker).map(Inbound.ack) ?? .other
            }
        } else if view.dropFirst(type).starts(with: Self.errorType) {
            return .error(String(buffer: frame))
        }
        return .other
    }

    private static let typeMarker = Array(#""type":""#.utf8)
    private static let messageType = Array("message".utf8)
    private static let ackSuffix = Array(".ack\"".utf8)
    private static let errorType = Array("error\"".utf8)
    private static let clientIDMarker = Array(#""clientId":"m"#.utf8)

    /// A visitor token from the site's origin, then the socket and `hello`.
    func openIdleVisitor(_ index: Int, source: String?, sink: @escaping TextSink) async throws -> LoadSocket {
        let state = try state
        let session = try await state.http[index % state.http.count].send(
            .POST, "/v1/visitor/sessions", headers: [("Origin", siteOrigin)], json: #"{"siteKey":"\#(state.widgetKey)"}"#)
        guard session.status == 201, let token = try Self.json(session.body)["token"] as? String else {
            throw LoadError("Visitor session failed: \(session.status) \(session.body)")
        }
        let socket = try await LoadSocket.connect(host: host, port: port, path: "/v1/ws/visitor", headers: [("Origin", siteOrigin)], source: source, sink: sink)
        let welcome = try await Self.ask(.hello(protocolVersion: 1, token: token, resume: []), on: socket)
        guard case .welcome = welcome else { throw LoadError("Visitor hello refused: \(welcome)") }
        return socket
    }

    func connectAgent(_ index: Int, chats: Int, sink: @escaping TextSink) async throws -> (key: String, socket: LoadSocket) {
        let state = try state
        let http = state.http[index % state.http.count]
        let email = "agent\(index)@load.test"
        let created = try await http.send(
            .POST, "/v1/agents", headers: [("Cookie", state.owner.cookie), ("X-CSRF-Token", state.owner.csrf), ("Origin", publicOrigin)],
            json: #"{"email":"\#(email)","displayName":"Agent \#(index)","password":"\#(agentPassword)","role":"agent","maxConversations":\#(chats)}"#)
        // 409: the account is left from an earlier run on the same data.
        guard created.status == 201 || created.status == 409 else { throw LoadError("Creating \(email) failed: \(created.status) \(created.body)") }
        let (cookie, id, _) = try await signIn(email, agentPassword, over: http)
        let socket = try await LoadSocket.connect(
            host: host, port: port, path: "/v1/ws/agent", headers: [("Cookie", cookie), ("Origin", publicOrigin)], sink: sink)
        guard case .welcome = try await Self.ask(.hello(protocolVersion: 1, token: nil, resume: []), on: socket),
            case .ok = try await Self.ask(.setAvailability(.available), on: socket)
        else { throw LoadError("Agent \(index) could not become available.") }
        return (id, socket)
    }

    func connectPair(_ index: Int, chatsPerAgent: Int, agents: [String: LoadSocket], sink: @escaping TextSink) async throws -> ChatPair {
        let visitor = try await openIdleVisitor(index, source: nil, sink: sink)
        let conversation = try await openConversation(on: visitor, name: "Visitor \(index)")
        guard let agentID = conversation.agent?.id, let agent = agents[agentID] else {
            throw LoadError("The conversation was not routed to a load agent: \(conversation)")
        }
        let frame: @Sendable (Int, String) -> String = { number, body in Self.messageFrame(conversation: conversation.id, number: number, body: body) }
        return ChatPair(visitor: visitor, agent: agent, toAgent: frame, toVisitor: frame)
    }

    /// `message.send` for message `number`, written by hand rather than by ``FrameCodec`` because
    /// the generator builds tens of thousands a second (a test checks the codec reads it back).
    /// `body` must need no JSON escaping.
    static func messageFrame(conversation: ConversationID, number: Int, body: String) -> String {
        #"{"type":"message.send","conversationId":"\#(conversation)","clientId":"m\#(number)","body":"\#(body)"}"#
    }

    /// Asks for a conversation on a visitor's open socket: routed at once (`active`) or queued.
    func openConversation(on visitor: LoadSocket, name: String? = nil) async throws -> ConversationSummary {
        let opened = try await Self.ask(.openConversation(departmentId: nil, name: name, email: nil, pageUrl: nil, language: "en"), on: visitor)
        guard case .conversationOpened(let conversation) = opened else { throw LoadError("conversation.open failed: \(opened)") }
        return conversation
    }

    /// Sends a setup frame and waits for the server's answer to it (matched by `ref`).
    private static func ask(_ frame: ClientFrame, on socket: LoadSocket) async throws -> ServerFrame {
        let ref = frame.type
        let answer = try await socket.request(FrameCodec.encode(ClientEnvelope(ref: ref, frame))) { $0.contains(#""ref":"\#(ref)""#) }
        return try FrameCodec.decodeServerFrame(answer).frame
    }

    /// Signs in; returns the session cookie, the account's id and the session's CSRF token.
    private func signIn(_ email: String, _ password: String, over http: HTTPConnection) async throws -> (cookie: String, id: String, csrf: String) {
        let response = try await http.send(
            .POST, "/v1/auth/login", headers: [("Origin", publicOrigin)], json: #"{"email":"\#(email)","password":"\#(password)"}"#)
        guard response.status == 200, let cookie = response.headers["Set-Cookie"].first?.split(separator: ";").first,
            let body = try? Self.json(response.body), let id = (body["agent"] as? [String: Any])?["id"] as? String,
            let csrf = body["csrfToken"] as? String
        else { throw LoadError("Signing in \(email) failed: \(response.status) \(response.body)") }
        return (String(cookie), id, csrf)
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw LoadError("Not a JSON object: \(text)") }
        return object
    }
}
