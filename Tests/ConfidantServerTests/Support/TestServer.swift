import ConfidantCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import ConfidantServer

/// A staff member signed in through the API.
struct StaffLogin: Sendable {
    let agentId: AgentID
    let email: String
    let password: String
    /// The `Cookie` header value carrying the session.
    let cookie: String
    /// The session's CSRF token, sent in `X-CSRF-Token` on state-changing requests.
    let csrfToken: String
    /// How far the sign-in has come (`complete` unless 2FA or a password change is pending).
    var stage: String = "complete"
}

/// A site created through the API.
struct TestSite: Sendable, Decodable {
    let id: SiteID
    let widgetKey: String
    let allowedOrigins: [String]
}

/// A visitor session issued through the API.
struct TestVisitor: Sendable, Decodable {
    let token: String
    let visitorId: VisitorID
    let siteId: SiteID
}

/// An HTTP response as tests see it.
struct HTTPReply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer
}

/// Sends one HTTP request to a server.
typealias HTTPTransport = @Sendable (_ method: HTTPRequest.Method, _ path: String, _ headers: HTTPFields, _ body: ByteBuffer?) async throws -> HTTPReply

/// A running Confidant on a real loopback port with a fresh store (SQLite file or a new
/// PostgreSQL database), driven through its real HTTP API and WebSockets. In-process servers
/// also expose their runtime; a server in another process (durability tests) does not.
struct TestServer: Sendable {
    let backend: TestBackend
    let port: Int
    let runtime: ConfidantRuntime!
    let transport: HTTPTransport

    static let logger: Logger = {
        var logger = Logger(label: "confidant-test")
        logger.logLevel = ProcessInfo.processInfo.environment["CONFIDANT_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }()

    /// A configuration for tests: a temporary data directory, the backend's database, a free port,
    /// and bcrypt cost 10. Configuration read from flags, environment or a file refuses less than
    /// 12; only code that builds a configuration in-process (these tests) can go lower, so that
    /// dozens of parallel tests do not queue for seconds behind each other's hashing in a debug
    /// build. The CLI, durability and browser tests run the real binary at cost 12.
    static func configuration(for backend: TestBackend) async throws -> ConfidantConfiguration {
        var configuration = ConfidantConfiguration()
        configuration.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-test-\(UUID().uuidString)").path
        configuration.databaseURL = try await backend.freshDatabaseURL()
        configuration.port = 0
        configuration.bcryptCost = 10
        // The test client connects before the test's first request, which may wait behind other
        // tests' bcrypt work: the head deadline must not cut it off.
        configuration.httpHeaderTimeout = .seconds(300)
        // The test WebSocket client sends `Origin: http://127.0.0.1`: staff pages live there.
        configuration.publicURL = "http://127.0.0.1"
        return configuration
    }

    /// Starts a server, runs `body`, stops the server and removes its data directory.
    static func run(
        _ backend: TestBackend, configure: @Sendable (inout ConfidantConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        var configuration = try await configuration(for: backend)
        configure(&configuration)
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
        let runtime = try await ConfidantRuntime.open(configuration, logger: logger)
        let app = try await buildApplication(runtime)
        try await app.test(.live) { client in
            let transport: HTTPTransport = { method, path, headers, body in
                let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
                return HTTPReply(status: response.status, headers: response.headers, body: response.body)
            }
            try await body(TestServer(backend: backend, port: client.port!, runtime: runtime, transport: transport))
        }
    }

    // MARK: HTTP

    /// Sends a request; `json` is encoded as the body, labelled JSON unless `headers` says otherwise.
    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, json: (any Encodable)? = nil, body: String? = nil, as login: StaffLogin? = nil,
        headers: HTTPFields = [:]
    ) async throws -> HTTPReply {
        var headers = headers
        if let login {
            headers[.cookie] = login.cookie
            if headers[.init("X-CSRF-Token")!] == nil { headers[.init("X-CSRF-Token")!] = login.csrfToken }
        }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try JSONEncoder().encode(json))
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        if buffer != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await transport(method, path, headers, buffer)
    }

    /// Decodes a response body, recording the body on failure.
    func decode<T: Decodable>(_ type: T.Type, from response: HTTPReply) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
        } catch {
            Issue.record("Could not decode \(T.self) from \(response.status): \(String(buffer: response.body))")
            throw error
        }
    }

    /// The `error.code` of an error response.
    func errorCode(_ response: HTTPReply) -> String? {
        struct Body: Decodable {
            struct Detail: Decodable { let code: String }
            let error: Detail
        }
        return try? JSONDecoder().decode(Body.self, from: Data(response.body.readableBytesView)).error.code
    }

    // MARK: Staff

    /// Creates the owner account (as `confidant admin create` does) and signs in.
    func owner(email: String = "owner@example.com") async throws -> StaffLogin {
        let password = "owner-password-\(UUID().uuidString.prefix(8))"
        try await runtime.createOwner(email: email, displayName: "Olga Owner", password: password)
        return try await login(email: email, password: password)
    }

    /// Signs in and returns the session cookie.
    func login(email: String, password: String, headers: HTTPFields = [:]) async throws -> StaffLogin {
        let response = try await request(.post, "/v1/auth/login", json: ["email": email, "password": password], headers: headers)
        try #require(response.status == .ok, "login failed: \(String(buffer: response.body))")
        return try session(from: response, email: email, password: password)
    }

    /// The session a sign-in step answered with (its cookie and CSRF token).
    func session(from response: HTTPReply, email: String, password: String) throws -> StaffLogin {
        struct Body: Decodable {
            struct Agent: Decodable { let id: AgentID }
            let agent: Agent
            let csrfToken: String
            let stage: String
        }
        let setCookie = try #require(response.headers[.setCookie])
        let cookie = String(setCookie.split(separator: ";")[0])
        let body = try decode(Body.self, from: response)
        return StaffLogin(agentId: body.agent.id, email: email, password: password, cookie: cookie, csrfToken: body.csrfToken, stage: body.stage)
    }

    struct NewAgent: Encodable {
        let email: String
        let displayName: String
        let password: String
        let role: StaffRole
        let maxConversations: Int
        let departments: [DepartmentID]
    }

    /// Creates a staff account through the API and signs it in.
    func agent(
        _ name: String, by owner: StaffLogin, role: StaffRole = .agent, departments: [DepartmentID] = [], maxConversations: Int = 5
    ) async throws -> StaffLogin {
        let email = "\(name.lowercased())-\(UUID().uuidString.prefix(6).lowercased())@example.com"
        let password = "password-of-\(name.lowercased())"
        let response = try await request(
            .post, "/v1/agents",
            json: NewAgent(email: email, displayName: name, password: password, role: role, maxConversations: maxConversations, departments: departments),
            as: owner
        )
        try #require(response.status == .created, "creating \(name) failed: \(String(buffer: response.body))")
        return try await login(email: email, password: password)
    }

    /// Creates a department.
    func department(_ name: String, by owner: StaffLogin) async throws -> DepartmentID {
        struct Body: Decodable { let id: DepartmentID }
        let response = try await request(.post, "/v1/departments", json: ["name": name], as: owner)
        try #require(response.status == .created)
        return try decode(Body.self, from: response).id
    }

    /// Creates a site.
    func site(by owner: StaffLogin, origins: [String] = ["https://shop.example"]) async throws -> TestSite {
        struct Body: Encodable {
            let name: String
            let allowedOrigins: [String]
        }
        let response = try await request(.post, "/v1/sites", json: Body(name: "Shop", allowedOrigins: origins), as: owner)
        try #require(response.status == .created)
        return try decode(TestSite.self, from: response)
    }

    // MARK: Visitors

    /// Issues a visitor token for a site.
    func visitor(of site: TestSite) async throws -> TestVisitor {
        let response = try await request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey])
        try #require(response.status == .created, "visitor session failed: \(String(buffer: response.body))")
        return try decode(TestVisitor.self, from: response)
    }

    // MARK: Sockets

    /// Opens a visitor socket and completes `hello`.
    func visitorSocket(_ visitor: TestVisitor, resume: [ResumePoint] = [], headers: HTTPFields = [:]) async throws -> (TestSocket, Welcome) {
        let socket = try await TestSocket.connect(port: port, path: "/v1/ws/visitor", headers: headers)
        socket.send(.hello(protocolVersion: ProtocolVersion.current, token: visitor.token, resume: resume))
        return (socket, try await welcome(on: socket))
    }

    /// Opens a staff socket with the login's cookie, completes `hello`, and optionally goes available.
    func agentSocket(_ login: StaffLogin, resume: [ResumePoint] = [], available: Bool = true) async throws -> (TestSocket, Welcome) {
        let socket = try await TestSocket.connect(port: port, path: "/v1/ws/agent", headers: [.cookie: login.cookie])
        socket.send(.hello(protocolVersion: ProtocolVersion.current, token: nil, resume: resume))
        let welcome = try await welcome(on: socket)
        if available {
            socket.send(.setAvailability(.available), ref: "avail")
            _ = try await socket.next(timeout: .seconds(10), "ok to availability") { $0.ref == "avail" }
        }
        return (socket, welcome)
    }

    private func welcome(on socket: TestSocket) async throws -> Welcome {
        let envelope = try await socket.next(type: "welcome")
        guard case .welcome(let welcome) = envelope.frame else { throw TestSocket.Failure.timeout("welcome") }
        return welcome
    }
}

/// Frame helpers.
extension ServerEnvelope {
    var message: MessagePayload? {
        if case .message(let m) = frame { return m }
        return nil
    }
    var event: ConversationEventPayload? {
        if case .event(let e) = frame { return e }
        return nil
    }
    var ack: MessageAck? {
        if case .messageAck(let a) = frame { return a }
        return nil
    }
    var opened: ConversationSummary? {
        if case .conversationOpened(let s) = frame { return s }
        return nil
    }
    var errorCode: ErrorCode? {
        if case .error(let code, _, _) = frame { return code }
        return nil
    }
}
