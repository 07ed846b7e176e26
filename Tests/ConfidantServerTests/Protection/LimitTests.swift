import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import ConfidantServer

/// Rate limits and connection caps, tried by flooding a real server.
@Suite("Rate limits and connection caps")
struct LimitTests {
    @Test("Token buckets: a burst of the rate's count, then one per period/count; full buckets are forgotten")
    func buckets() throws {
        #expect(Rate(parsing: "30/1m") == Rate(30, per: .seconds(60)))
        #expect(Rate(parsing: "5/10s") == Rate(5, per: .seconds(10)))
        #expect(Rate(parsing: "2/1h")?.description == "2/1h")
        for bad in ["30", "30/", "/1m", "0/1m", "30/1d", "x/1m", "30/-1m", "30/0s"] { #expect(Rate(parsing: bad) == nil, "\(bad)") }

        let limiter = RateLimiter(rates: [.messagesPerVisitor: Rate(3, per: .seconds(30))])
        let start = ContinuousClock.now
        for _ in 0..<3 { #expect(limiter.take(.messagesPerVisitor, "v", now: start) == nil) }
        let wait = try #require(limiter.take(.messagesPerVisitor, "v", now: start))
        #expect(wait == .seconds(10), "one token every 10 s")
        #expect(limiter.take(.messagesPerVisitor, "other", now: start) == nil, "buckets are per subject")
        #expect(limiter.take(.messagesPerVisitor, "v", now: start + .seconds(9)) != nil)
        #expect(limiter.take(.messagesPerVisitor, "v", now: start + .seconds(10)) == nil)
        #expect(limiter.sweep(now: start + .seconds(31)) == 1, "'other' refilled and is forgotten; 'v' was used 21 s ago")
        #expect(limiter.sweep(now: start + .seconds(41)) == 0)
    }

    @Test("Trips, not refusals, are reported to the audit log: once per subject, rule and period, and at most 100 a minute in all")
    func trips() {
        let reported = Mutex<[String]>([])
        let limiter = RateLimiter(
            rates: [.messagesPerVisitor: Rate(1, per: .seconds(60))], metrics: nil, logger: nil,
            onTrip: { _, subject in reported.withLock { $0.append(subject) } })
        let start = ContinuousClock.now
        #expect(limiter.take(.messagesPerVisitor, "v", now: start) == nil)
        for step in 1...50 { #expect(limiter.take(.messagesPerVisitor, "v", now: start + .milliseconds(step)) != nil) }
        #expect(reported.withLock { $0 } == ["v"], "fifty refusals, one trip")
        #expect(limiter.take(.messagesPerVisitor, "v", now: start + .seconds(61)) == nil)
        #expect(limiter.take(.messagesPerVisitor, "v", now: start + .seconds(61)) != nil)
        #expect(reported.withLock { $0.count } == 2, "a new period, a new trip")

        // A flood from many subjects at once: the audit log gets at most 100 trips that minute.
        let flood = start + .seconds(200)
        for subject in 0..<300 {
            _ = limiter.take(.messagesPerVisitor, "s\(subject)", now: flood)
            _ = limiter.take(.messagesPerVisitor, "s\(subject)", now: flood)
        }
        #expect(reported.withLock { $0.count } == 2 + RateLimiter.maxTripsPerMinute)
        _ = limiter.take(.messagesPerVisitor, "late", now: flood + .seconds(61))
        _ = limiter.take(.messagesPerVisitor, "late", now: flood + .seconds(61))
        #expect(reported.withLock { $0.last } == "late", "the next minute reports again")
    }

    @Test("HTTP: visitor tokens and sign-ins per address, REST per staff member; 429 with Retry-After; other addresses and people unaffected")
    func http() async throws {
        try await TestServer.run(
            .sqlite,
            configure: {
                // Hour-long periods: no token comes back while a loaded machine runs the test
                // (4 per minute would refill one every 15 s).
                $0.rateLimits = [
                    .visitorSessionsPerAddress: Rate(3, per: .seconds(3600)), .signInPerAddress: Rate(4, per: .seconds(3600)),
                    .restPerStaff: Rate(8, per: .seconds(3600)),
                ]
            }
        ) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            for _ in 0..<2 { _ = try await server.visitor(of: site) }
            _ = try await server.visitor(of: site)
            let flooded = try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey])
            #expect(flooded.status == .tooManyRequests)
            #expect(server.errorCode(flooded) == "rate_limited")
            #expect(Int(flooded.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let elsewhere = try await SourceBoundHTTP.send(
                from: "127.0.0.2", port: server.port, "POST", "/v1/visitor/sessions", body: #"{"siteKey":"\#(site.widgetKey)"}"#)
            #expect(elsewhere.status == 201, "another address has its own bucket")

            // Sign-in: the owner signed in once; three more attempts, then 429 even with the right password.
            for _ in 0..<3 { _ = try await server.request(.post, "/v1/auth/login", json: ["email": "owner@example.com", "password": "wrong-password-1"]) }
            let blocked = try await server.request(.post, "/v1/auth/login", json: ["email": "owner@example.com", "password": owner.password])
            #expect(blocked.status == .tooManyRequests)
            #expect(server.errorCode(blocked) == "rate_limited")

            // REST per staff member: the owner made 1 request (the site) so far.
            var statuses: [Int] = []
            for _ in 0..<9 { statuses.append(try await server.request(.get, "/v1/departments", as: owner).status.code) }
            #expect(statuses.prefix(7).allSatisfy { $0 == 200 } && statuses.last == 429, "\(statuses)")
            let withoutLogin = try await server.request(.get, "/v1/departments", headers: [.cookie: "confidant_session=forged"])
            #expect(withoutLogin.status == .unauthorized, "a forged cookie counts against its address, which has room")

            // Each limit that tripped is in the audit log once (recorded in the background).
            var tripped: [String] = []
            for _ in 0..<100 {
                tripped = try await server.runtime.database.read { try await $0.auditEvents(before: nil, action: "rate_limit.tripped", limit: 20) }
                    .map { $0.targetId ?? "" }
                if tripped.count >= 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(tripped.sorted() == ["restPerStaff", "signInPerAddress", "visitorSessionsPerAddress"])
        }
    }

    @Test("A flooding visitor is refused, then disconnected (1008); a legitimate pair chatting meanwhile is untouched")
    func websocketFlood() async throws {
        try await TestServer.run(.sqlite, configure: { $0.rateLimits = [.messagesPerVisitor: Rate(5, per: .seconds(3600))] }) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Gabi", by: owner, maxConversations: 2)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (flooder, floodConversation) = try await RoutingTests.openConversation(server, site)
            let (legit, legitConversation) = try await RoutingTests.openConversation(server, site)

            for index in 0..<40 {
                flooder.send(
                    .sendMessage(conversationId: floodConversation.id, clientId: "f\(index)", body: "buy now \(index)", visibility: .public), ref: "f\(index)")
            }
            legit.send(.sendMessage(conversationId: legitConversation.id, clientId: "l1", body: "I need help", visibility: .public), ref: "l1")
            #expect(try await legit.next { $0.ref == "l1" }.ack != nil)
            #expect(try await agentSocket.next(timeout: .seconds(10), "the legitimate message") { $0.message?.body == "I need help" }.message != nil)
            #expect(try await flooder.closeCode() == 1008)
            let frames = try await flooder.received { $0.ref?.hasPrefix("f") == true }
            #expect(frames.filter { $0.ack != nil }.count == 5, "the burst the rate allows")
            #expect(frames.filter { $0.errorCode == .rateLimited }.count == SocketSession.strikesBeforeClose)
            let stored = try server.decode(
                TranscriptBody.self, from: try await server.request(.get, "/v1/conversations/\(floodConversation.id)/transcript", as: owner))
            #expect(stored.entries.filter { $0.type == "message" }.count == 5, "nothing refused was stored")
            legit.send(.sendMessage(conversationId: legitConversation.id, clientId: "l2", body: "Still here", visibility: .public), ref: "l2")
            #expect(try await legit.next { $0.ref == "l2" }.ack != nil)
        }
    }

    @Test("Every kind of frame counts against its socket: a flood of read markers is refused, then disconnected (1008); the visitor's other socket goes on")
    func frameFlood() async throws {
        try await TestServer.run(.sqlite, configure: { $0.rateLimits = [.framesPerSocket: Rate(10, per: .seconds(3600))] }) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let (agentSocket, _) = try await server.agentSocket(try await server.agent("Rita", by: owner))
            let visitor = try await server.visitor(of: site)
            let (flooder, _) = try await server.visitorSocket(visitor)
            flooder.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "open")
            let opened = try await flooder.next { $0.ref == "open" }
            let conversation = try #require(opened.opened, "\(opened.frame)")
            // The conversation opened with the first of the ten frames; nine read markers follow,
            // then 20 refusals close the socket.
            for index in 0..<40 { flooder.send(.read(conversationId: conversation.id, seq: 0), ref: "r\(index)") }
            #expect(try await flooder.closeCode() == 1008)
            let replies = try await flooder.received { $0.ref?.hasPrefix("r") == true }
            #expect(replies.filter { $0.errorCode == nil }.count == 9, "the burst the rate allows")
            #expect(replies.filter { $0.errorCode == .rateLimited }.count == SocketSession.strikesBeforeClose)

            let (other, _) = try await server.visitorSocket(visitor)
            other.send(.sendMessage(conversationId: conversation.id, clientId: "m1", body: "Hello again", visibility: .public), ref: "m1")
            #expect(try await other.next { $0.ref == "m1" }.ack != nil, "each socket has its own budget")
            #expect(try await agentSocket.next(timeout: .seconds(10), "the message") { $0.message?.body == "Hello again" }.message != nil)
        }
    }

    @Test("Connection caps: per address at the handshake (429), per visitor at hello (1008); a closed socket frees its place")
    func caps() async throws {
        try await TestServer.run(
            .sqlite,
            configure: {
                $0.socketsPerAddress = 3; $0.socketsPerVisitor = 2
            }
        ) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let handshake = SourceBoundHTTP.webSocketHandshake
            let visitor = try await server.visitor(of: site)
            let (first, _) = try await server.visitorSocket(visitor)
            let (second, _) = try await server.visitorSocket(visitor)
            let third = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor")
            third.send(.hello(protocolVersion: ProtocolVersion.current, token: visitor.token, resume: []))
            #expect(try await third.next(type: "error").errorCode == .tooManyConnections)
            #expect(try await third.closeCode() == 1008)
            try await Task.sleep(for: .milliseconds(300))  // the refused socket's place is freed
            let (other, _) = try await server.visitorSocket(try await server.visitor(of: site))
            // 127.0.0.1 now has 3 sockets open: a fourth handshake gets 429, before any socket exists.
            #expect(try await SourceBoundHTTP.send(from: "127.0.0.1", port: server.port, "GET", "/v1/ws/visitor", headers: handshake).status == 429)
            #expect(try await SourceBoundHTTP.send(from: "127.0.0.2", port: server.port, "GET", "/v1/ws/visitor", headers: handshake).status == 101)
            first.close()
            _ = try await first.closeCode()
            try await Task.sleep(for: .milliseconds(300))
            let (again, _) = try await server.visitorSocket(visitor)
            withExtendedLifetime([second, other, again]) {}
        }
    }
}

/// A transcript's body, loosely: the type of each entry.
struct TranscriptBody: Decodable {
    struct Entry: Decodable { let type: String }
    let entries: [Entry]
}

extension LimitTests {
    @Test("Refusals are counted in Prometheus metrics, served on their own loopback listener only")
    func metrics() async throws {
        let metricsPort = try await freePort()
        try await TestServer.run(
            .sqlite,
            configure: {
                $0.metricsPort = metricsPort
                $0.socketsPerAddress = 1
                $0.rateLimits = [.visitorSessionsPerAddress: Rate(2, per: .seconds(3600))]
            }
        ) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let visitor = try await server.visitor(of: site)
            _ = try await server.visitor(of: site)
            #expect(try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey]).status == .tooManyRequests)
            _ = try await server.request(.post, "/v1/auth/login", json: ["email": "owner@example.com", "password": "not-the-password"])
            let (socket, _) = try await server.visitorSocket(visitor)
            socket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil, form: FormSignals(honeypot: "bot", fillMs: 9000)), ref: "o")
            #expect(try await socket.next { $0.ref == "o" }.errorCode == .chatUnavailable)
            let handshake = SourceBoundHTTP.webSocketHandshake
            #expect(try await SourceBoundHTTP.send(from: "127.0.0.1", port: server.port, "GET", "/v1/ws/visitor", headers: handshake).status == 429)

            let scraped = try await SourceBoundHTTP.send(from: "127.0.0.1", port: metricsPort, "GET", "/metrics")
            #expect(scraped.status == 200)
            #expect(scraped.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let lines = Set(scraped.body.split(separator: "\n").map(String.init))
            for expected in [
                #"confidant_rate_limited_total{rule="visitorSessionsPerAddress"} 1"#, #"confidant_connections_refused_total{cap="address"} 1"#,
                #"confidant_spam_refused_total{reason="form"} 1"#, "confidant_sign_in_failures_total 1", "confidant_websockets_open 1.0",
            ] {
                #expect(lines.contains(expected), "\(expected) in:\n\(scraped.body)")
            }
            #expect(try await server.request(.get, "/metrics").status == .notFound, "not on the public port")
            withExtendedLifetime(socket) {}
        }
    }

    /// A TCP port nothing listens on right now.
    func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}
