import ConfidantCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSClient
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing

@testable import ConfidantServer

@Suite("Bad input: every malformed frame gets an error or a documented close, and stores nothing")
struct BadInputTests {
    /// One malformed frame and the error it must produce; the socket stays open afterwards.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let text: @Sendable (ConversationID) -> String
        let code: ErrorCode
        var testDescription: String { name }
    }

    static let visitorCases: [Case] = [
        Case(name: "not JSON", text: { _ in "{not json" }, code: .invalidJSON),
        Case(name: "not an object", text: { _ in "[1,2,3]" }, code: .invalidFrame),
        Case(name: "no type", text: { _ in #"{"ref":"r"}"# }, code: .invalidFrame),
        Case(name: "unknown type", text: { _ in #"{"type":"message.delete"}"# }, code: .unknownFrameType),
        Case(name: "missing body", text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"x"}"# }, code: .invalidFrame),
        Case(name: "wrong type of field", text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"x","body":42}"# }, code: .invalidFrame),
        Case(name: "blank body", text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"x","body":"  \n "}"# }, code: .emptyMessage),
        Case(
            name: "body too long",
            text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"x","body":"\#(String(repeating: "é", count: 4001))"}"# },
            code: .messageTooLong
        ),
        Case(
            name: "control characters", text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"x","body":"a\u0007b"}"# },
            code: .invalidRequest),
        Case(
            name: "bad client id", text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"has space","body":"hi"}"# }, code: .invalidFrame
        ),
        Case(name: "bad conversation id", text: { _ in #"{"type":"message.send","conversationId":"../etc","clientId":"x","body":"hi"}"# }, code: .invalidFrame),
        Case(
            name: "someone else's conversation", text: { _ in #"{"type":"message.send","conversationId":"\#(ConversationID())","clientId":"x","body":"hi"}"# },
            code: .conversationNotFound
        ),
        Case(
            name: "visitor writes an internal note",
            text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"x","body":"hi","visibility":"internal"}"# }, code: .forbidden),
        Case(name: "visitor sends a staff frame", text: { id in #"{"type":"conversation.accept","conversationId":"\#(id)"}"# }, code: .forbidden),
        Case(
            name: "unknown visibility", text: { id in #"{"type":"message.send","conversationId":"\#(id)","clientId":"x","body":"hi","visibility":"secret"}"# },
            code: .invalidFrame),
        Case(name: "score out of range", text: { id in #"{"type":"conversation.rate","conversationId":"\#(id)","score":6}"# }, code: .invalidFrame),
        Case(name: "negative sequence", text: { id in #"{"type":"sync","conversationId":"\#(id)","afterSeq":-1}"# }, code: .invalidFrame),
        Case(name: "second hello", text: { _ in #"{"type":"hello","protocol":1}"# }, code: .invalidState),
        Case(name: "bad ref", text: { _ in #"{"type":"ping","ref":"no spaces please"}"# }, code: .invalidFrame),
    ]

    @Test("Each malformed visitor frame gets its error frame, and the socket keeps working", arguments: visitorCases)
    func malformedVisitorFrames(_ badCase: Case) async throws {
        try await TestServer.run(.sqlite) { server in
            let pair = try await DeliveryTests.pair(server)
            pair.guest.sendText(badCase.text(pair.conversation))
            let error = try await pair.guest.next(type: "error")
            #expect(error.errorCode == badCase.code)
            guard case .error(_, let message, _) = error.frame else { return }
            #expect(!message.isEmpty)
            // Still serving this socket and everyone else; nothing was stored.
            pair.guest.send(.ping(t: 7), ref: "alive")
            #expect(try await pair.guest.next(type: "pong").frame == .pong(t: 7))
            pair.agent.send(.sendMessage(conversationId: pair.conversation, clientId: "ok", body: "still here", visibility: .public))
            #expect(try await pair.guest.next(type: "message").message?.body == "still here")
            #expect(try await DeliveryTests.transcriptMessages(server, pair).map(\.clientId) == ["ok"])
        }
    }

    @Test("Binary frames, frames before hello, and a transfer with two targets are refused", arguments: TestBackend.allCases)
    func otherRefusals(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let pair = try await DeliveryTests.pair(server)
            pair.guest.sendRaw(.binary(ByteBuffer(string: "{}")))
            #expect(try await pair.guest.next(type: "error").errorCode == .binaryNotSupported)
            let transfer =
                #"{"type":"conversation.transfer","ref":"t","conversationId":"\#(pair.conversation)","toAgentId":"\#(AgentID())","toDepartmentId":"\#(DepartmentID())"}"#
            pair.agent.sendText(transfer)
            #expect(try await pair.agent.next(timeout: .seconds(5), "error") { $0.ref == "t" }.errorCode == .invalidFrame)

            let early = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor")
            early.send(.ping(t: nil), ref: "early")
            #expect(try await early.next(type: "error").errorCode == .helloRequired)
        }
    }

    @Test("Sockets are closed with documented codes: protocol, token, origin, hello timeout, size, UTF-8")
    func closeCodes() async throws {
        try await TestServer.run(.sqlite, configure: { $0.helloTimeout = .seconds(1) }) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner, origins: ["https://shop.example"])
            let visitor = try await server.visitor(of: site)

            let oldProtocol = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor")
            oldProtocol.send(.hello(protocolVersion: 99, token: visitor.token, resume: []))
            #expect(try await oldProtocol.next(type: "error").errorCode == .unsupportedProtocol)
            #expect(try await oldProtocol.closeCode() == 4400)

            let forged = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor")
            forged.send(.hello(protocolVersion: 1, token: visitor.token.dropLast(2) + "AA", resume: []))
            #expect(try await forged.closeCode() == 4401)

            // A page on another origin may not use this site's widget.
            let elsewhere = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor", host: "localhost")
            elsewhere.send(.hello(protocolVersion: 1, token: visitor.token, resume: []))
            #expect(try await elsewhere.next(type: "error").errorCode == .crossOrigin)
            #expect(try await elsewhere.closeCode() == 4403)

            let silent = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor")
            #expect(try await silent.closeCode(timeout: .seconds(5)) == 4408)

            let (big, _) = try await server.visitorSocket(visitor)
            big.sendText(#"{"type":"ping","pad":"\#(String(repeating: "x", count: Limits.maxFrameBytes))"}"#)
            #expect(try await big.closeCode() == 1009)

            let (garbled, _) = try await server.visitorSocket(visitor)
            garbled.sendRaw(.custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x7B, 0xC3, 0x28, 0x7D]))))
            #expect(try await garbled.closeCode() == 1007)

            // Fragments are reassembled before the limit applies, and a message in fragments is served.
            let (fragmented, _) = try await server.visitorSocket(visitor)
            fragmented.sendRaw(.custom(WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(string: #"{"type":"ping","#))))
            fragmented.sendRaw(.custom(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: #""ref":"in-pieces"}"#))))
            #expect(try await fragmented.next(type: "pong").ref == "in-pieces")
            let half = ByteBuffer(string: String(repeating: "x", count: Limits.maxFrameBytes / 2 + 1))
            fragmented.sendRaw(.custom(WebSocketFrame(fin: false, opcode: .text, data: half)))
            fragmented.sendRaw(.custom(WebSocketFrame(fin: true, opcode: .continuation, data: half)))
            #expect(try await fragmented.closeCode() == 1009)

            let (splinters, _) = try await server.visitorSocket(visitor)
            for index in 0...1024 {
                splinters.sendRaw(.custom(WebSocketFrame(fin: false, opcode: index == 0 ? .text : .continuation, data: ByteBuffer(string: " "))))
            }
            #expect(try await splinters.closeCode() == 1009)

            let (stray, _) = try await server.visitorSocket(visitor)
            stray.sendRaw(.custom(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: "{}"))))
            #expect(try await stray.closeCode() == 1002)

            // Through all of that the server kept serving.
            #expect(try await server.request(.get, "/healthz").status == .ok)
        }
    }

    @Test("Silent and slow clients are cut off: no request head within the header timeout closes the connection")
    func requestHeadDeadline() async throws {
        try await TestServer.run(.sqlite, configure: { $0.httpHeaderTimeout = .seconds(1) }) { server in
            // The test client's own connection sends its first request now; after that, the
            // (longer) idle timeout governs it.
            #expect(try await server.request(.get, "/healthz").status == .ok)
            let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            let silent = try await bootstrap.connect(host: "127.0.0.1", port: server.port).get()
            let dribbling = try await bootstrap.connect(host: "127.0.0.1", port: server.port).get()
            let started = ContinuousClock.now
            // One byte every 300 ms never completes a head.
            let dribble = Task {
                for byte in "GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8 {
                    try await dribbling.writeAndFlush(ByteBuffer(bytes: [byte]))
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            try await silent.closeFuture.get()
            try await dribbling.closeFuture.get()
            dribble.cancel()
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(900) && waited < .seconds(5), "closed after \(waited)")
            // A normal client is unaffected.
            #expect(try await server.request(.get, "/healthz").status == .ok)
        }
    }

    @Test("A peer that stops answering pings is dropped; one that answers stays")
    func deadPeersAreDropped() async throws {
        try await TestServer.run(.sqlite, configure: { $0.pingInterval = .seconds(1) }) { server in
            // A vanished device: the upgrade completes, then nothing comes back, not even a pong.
            let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: server.port).get()
            try await silent.writeAndFlush(
                ByteBuffer(
                    string: "GET /v1/ws/visitor HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
            // A live client answers pings (its WebSocket layer does).
            let live = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor")
            let started = ContinuousClock.now
            let giveUp = silent.eventLoop.scheduleTask(in: .seconds(10)) { silent.close(promise: nil) }
            try await silent.closeFuture.get()
            giveUp.cancel()
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(900) && waited < .seconds(5), "closed after \(waited)")
            try await Task.sleep(for: .seconds(2))
            // Still open after more intervals: it answers (before hello, with hello_required).
            live.send(.ping(t: 7), ref: "still-here")
            #expect(try await live.next(type: "error").ref == "still-here")
        }
    }

    @Test("Staff sockets need a valid session and Confidant's own origin")
    func staffHandshake() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            await #expect(throws: TestSocket.Failure.self) {
                _ = try await TestSocket.connect(port: server.port, path: "/v1/ws/agent")
            }
            await #expect(throws: TestSocket.Failure.self) {
                _ = try await TestSocket.connect(port: server.port, path: "/v1/ws/agent", headers: [.cookie: "confidant_session=forged"])
            }
            await #expect(throws: TestSocket.Failure.self) {
                _ = try await TestSocket.connect(port: server.port, path: "/v1/ws/agent", host: "localhost", headers: [.cookie: owner.cookie])
            }
            let socket = try await TestSocket.connect(port: server.port, path: "/v1/ws/agent", headers: [.cookie: owner.cookie])
            socket.send(.hello(protocolVersion: 1, token: nil, resume: []))
            _ = try await socket.next(type: "welcome")

            // Signing out closes the session's open sockets at once.
            #expect(try await server.request(.post, "/v1/auth/logout", as: owner).status == .noContent)
            #expect(try await socket.closeCode() == 4401)
            #expect(try await server.request(.get, "/v1/auth/me", as: owner).status == .unauthorized)
        }
    }

    @Test("REST: malformed, oversized, unauthenticated and unknown requests get JSON errors with stable codes")
    func restErrors() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let cases: [(HTTPRequest.Method, String, String?, StaffLogin?, HTTPResponse.Status, String)] = [
                (.post, "/v1/departments", "{nope", owner, .badRequest, "invalid_json"),
                (.post, "/v1/departments", "{}", owner, .badRequest, "invalid_request"),
                (
                    .post, "/v1/departments", #"{"name":"\#(String(repeating: "a", count: Limits.maxRequestBodyBytes))"}"#, owner, .contentTooLarge,
                    "payload_too_large"
                ),
                (.get, "/v1/sites", nil, nil, .unauthorized, "unauthenticated"),
                (.get, "/v1/conversations/not-an-id", nil, owner, .notFound, "conversation_not_found"),
                (.get, "/v1/conversations/\(ConversationID())", nil, owner, .notFound, "conversation_not_found"),
                (.get, "/v1/nothing-here", nil, owner, .notFound, "not_found"),
                (.post, "/v1/visitor/sessions", #"{"siteKey":"cf_unknown"}"#, nil, .notFound, "not_found"),
                (.post, "/v1/auth/login", #"{"email":"owner@example.com","password":"wrong-password!"}"#, nil, .unauthorized, "invalid_credentials"),
                (.post, "/v1/auth/login", #"{"email":"nobody@example.com","password":"wrong-password!"}"#, nil, .unauthorized, "invalid_credentials"),
                (.get, "/v1/conversations?view=everything", nil, owner, .badRequest, "invalid_request"),
                (.get, "/v1/conversations?limit=100000", nil, owner, .badRequest, "invalid_request"),
            ]
            for (method, path, body, login, status, code) in cases {
                let response = try await server.request(method, path, body: body, as: login)
                #expect(response.status == status, "\(method) \(path)")
                #expect(server.errorCode(response) == code, "\(method) \(path)")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
            // A body labelled as anything but JSON is refused unread, whatever it holds (a form
            // post from another site cannot smuggle JSON in as text/plain).
            for label in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let response = try await server.request(.post, "/v1/departments", body: #"{"name":"Sales"}"#, as: owner, headers: [.contentType: label])
                #expect(response.status == .unsupportedMediaType, "\(label)")
                #expect(server.errorCode(response) == "unsupported_media_type", "\(label)")
            }
            #expect(
                try await server.request(
                    .post, "/v1/departments", body: #"{"name":"Sales"}"#, as: owner, headers: [.contentType: "application/json; charset=utf-8"]
                ).status == .created)
            // A method the path does not serve: 405 with the methods it does, through the same
            // middleware as every route (security headers included).
            for (method, path, allow) in [
                (HTTPRequest.Method.put, "/v1/sites", "GET, POST"), (.trace, "/v1/sites/\(SiteID())", "DELETE, GET, PATCH"),
                (.get, "/v1/auth/login", "POST"),
            ] {
                let response = try await server.request(method, path, as: owner)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                #expect(server.errorCode(response) == "method_not_allowed", "\(method) \(path)")
                #expect(response.headers[.contentSecurityPolicy] != nil)
            }
            // State-changing requests from another origin are refused (CSRF), even with a valid cookie.
            let forged = try await server.request(.post, "/v1/departments", json: ["name": "Evil"], as: owner, headers: [.origin: "https://evil.example"])
            #expect(forged.status == .forbidden)
            #expect(server.errorCode(forged) == "cross_origin")
        }
    }
}
