import ConfidantCore
import Foundation
import Logging

/// Settings of the WebSocket endpoints.
struct RealtimeSettings: Sendable {
    /// How long a new socket may take to send `hello`.
    var helloTimeout: Duration
    /// How many frames may still be queued for a socket whose buffers are full before it is closed as too slow.
    var sendQueueLimit: Int
    /// How often the server pings each socket; a socket silent for a whole interval is dropped.
    var pingInterval: Duration
}

/// Which endpoint a socket came in on, with what the handshake established.
enum SocketEndpoint: Sendable {
    /// `/v1/ws/visitor`; the visitor token arrives in `hello`. `origin` is the handshake's
    /// Origin header, checked against the site once the token names it.
    case visitor(origin: String?, address: String)
    /// `/v1/ws/agent`; the session was checked at the handshake, from the client's `address`.
    case staff(StaffIdentity, address: String)

    /// The client's address (connection caps, rate limits, the audit log).
    var address: String {
        switch self {
        case .visitor(_, let address), .staff(_, let address): address
        }
    }

}

/// Serves every WebSocket from `hello` to close: every inbound frame is decoded and validated by
/// ``FrameCodec``, checked against what the endpoint may send, and handed to the ``ChatService``;
/// every outbound frame leaves through the socket's ``SocketConnection``. The transport (frames,
/// pings, close codes, backpressure) is ``SocketHandler``'s.
struct SocketSession: Sendable {
    let chat: ChatService
    let visitors: VisitorData
    let visitorTokens: VisitorTokens
    let origins: OriginPolicy
    let settings: RealtimeSettings
    let audit: AuditLog
    let limiter: RateLimiter
    let caps: ConnectionCaps
    let spam: SpamGuard
    let logger: Logger
    /// A socket whose frames are refused by rate limits this many times in a row is closed (1008).
    static let strikesBeforeClose = 20

    /// Handles one inbound item of `socket`. Items of a socket are handled one at a time, in order.
    func process(_ item: InboundItem, of socket: SocketState) async {
        let connection = socket.connection
        switch item {
        case .binary:
            reply(.error(ConfidantError(.binaryNotSupported, "Send JSON text frames; binary frames are not supported.")), ref: nil, on: connection)
        case .text(let text):
            if socket.isRefused { return }  // closing: not even decoded
            let envelope: ClientEnvelope
            do {
                envelope = try FrameCodec.decodeClientFrame(text)
            } catch {
                reply(.error(error.error), ref: error.ref, on: connection)
                return
            }
            if socket.isRefused { return }
            if let principal = socket.principal {
                if let refusal = limit(envelope.frame, from: principal, socket: socket) {
                    reply(.error(refusal), ref: envelope.ref, on: connection)
                    if socket.strike(true) >= Self.strikesBeforeClose {
                        logger.warning("Closing a socket that kept exceeding its rate limits", metadata: ["address": "\(socket.endpoint.address)"])
                        connection.send(.close(code: CloseCode.policyViolation, reason: "rate limits"))
                        socket.refuse()
                    }
                    return
                }
                _ = socket.strike(false)
                if case .visitor(let visitor) = principal {
                    do {
                        if let refusal = try await spam.check(envelope.frame, from: visitor, address: socket.endpoint.address) {
                            reply(.error(refusal, conversationId: envelope.frame.conversationId), ref: envelope.ref, on: connection)
                            return
                        }
                    } catch {
                        logger.error("The spam check failed", metadata: ["error": "\(error)"])
                        reply(
                            .error(ConfidantError(.internalError, "The server could not check this frame; nothing was stored.")), ref: envelope.ref,
                            on: connection)
                        return
                    }
                }
                await handle(envelope, from: principal, address: socket.endpoint.address, on: connection)
            } else if case .hello(let version, let token, let resume) = envelope.frame {
                if let principal = await hello(
                    version: version, token: token, resume: resume, ref: envelope.ref, endpoint: socket.endpoint, connection: connection)
                {
                    socket.accept(principal)
                } else {
                    socket.refuse()
                }
            } else {
                reply(.error(ConfidantError(.helloRequired, "Send hello first.")), ref: envelope.ref, on: connection)
            }
        case .closed:
            await chat.hub.unsubscribe(connection)
            caps.release(address: socket.endpoint.address)
            switch socket.principal {
            case .staff(let staff)?: await chat.staffDisconnected(staff)
            case .visitor(let visitor)?: caps.release(visitor: visitor.visitorID)
            case nil: break
            }
        }
    }

    /// Authenticates the socket, joins its topics, sends `welcome` and replays what it missed.
    /// Returns nil (after queueing a close) when the socket must not continue.
    private func hello(
        version: Int, token: String?, resume: [ResumePoint], ref: String?, endpoint: SocketEndpoint, connection: SocketConnection
    ) async -> Principal? {
        guard ProtocolVersion.supported.contains(version) else {
            refuse(
                ConfidantError(.unsupportedProtocol, "This server speaks protocol \(ProtocolVersion.supported.sorted()); you asked for \(version)."), ref: ref,
                code: CloseCode.unsupportedProtocol, on: connection)
            return nil
        }
        do {
            let principal: Principal
            let topics: [Topic]
            switch endpoint {
            case .visitor(let origin, _):
                guard let token, var visitor = visitorTokens.verify(token),
                    let record = try await chat.database.read({ try await $0.visitor(id: visitor.visitorID) })
                else {
                    refuse(
                        ConfidantError(.unauthenticated, "The visitor token is missing, expired or invalid; ask for a new one."), ref: ref,
                        code: CloseCode.unauthenticated, on: connection)
                    return nil
                }
                guard let site = try await chat.database.read({ try await $0.site(id: visitor.siteID) }),
                    origins.allowsVisitor(origin: origin, site: site)
                else {
                    refuse(
                        ConfidantError(.crossOrigin, "This page's origin may not use this site's chat."), ref: ref, code: CloseCode.forbiddenOrigin,
                        on: connection)
                    return nil
                }
                visitor.verified = record.externalIdHash != nil
                if site.requireVerified != 0, !visitor.verified {
                    refuse(
                        VisitorIdentityTokens.identityRequired, ref: ref,
                        code: CloseCode.unauthenticated, on: connection)
                    return nil
                }
                guard caps.admit(visitor: visitor.visitorID) else {
                    refuse(
                        ConfidantError(.tooManyConnections, "This visitor has too many open connections; close a tab."), ref: ref,
                        code: CloseCode.policyViolation, on: connection)
                    return nil
                }
                principal = .visitor(visitor)
                topics = [.visitor(visitor.visitorID)]
            case .staff(let staff, _):
                principal = .staff(staff)
                topics = chat.staffTopics(for: staff)
            }
            let allowed = await resumable(resume, for: principal, on: connection)
            for point in allowed { connection.send(.beginCatchUp(point.conversationId)) }
            await chat.hub.subscribe(connection, to: topics)
            let welcome: Welcome
            switch principal {
            case .visitor(let visitor): welcome = try await chat.welcome(visitor: visitor)
            case .staff(let staff): welcome = try await chat.welcome(staff: staff)
            }
            reply(.welcome(welcome), ref: ref, on: connection)
            for point in allowed { await catchUp(point, for: principal, ref: nil, on: connection) }
            if case .staff(let staff) = principal { try await chat.staffConnected(staff) }
            return principal
        } catch {
            logger.error("hello failed", metadata: ["error": "\(error)"])
            refuse(ConfidantError(.internalError, "The server could not start this session; try again."), ref: ref, code: CloseCode.serverError, on: connection)
            return nil
        }
    }

    /// The resume points the principal may access; an error frame for each other one.
    private func resumable(_ points: [ResumePoint], for principal: Principal, on connection: SocketConnection) async -> [ResumePoint] {
        var allowed: [ResumePoint] = []
        for point in points {
            do {
                _ = try await chat.readAccessibleConversation(point.conversationId, for: principal)
                allowed.append(point)
            } catch {
                reply(.error(ConfidantError.conversationNotFound, conversationId: point.conversationId), ref: nil, on: connection)
            }
        }
        return allowed
    }

    /// Sends every entry after `point.afterSeq`, then `sync.done`. Live entries that arrive
    /// meanwhile are held by the writer and sent after, without duplicates.
    private func catchUp(_ point: ResumePoint, for principal: Principal, ref: String?, on connection: SocketConnection) async {
        do {
            let (entries, lastSeq) = try await chat.timeline(principal, conversation: point.conversationId, after: point.afterSeq)
            let frames = entries.map { (seq: $0.seq, text: FrameCodec.encode(ServerEnvelope($0.frame))) }
            let done = FrameCodec.encode(ServerEnvelope(ref: ref, .syncDone(conversationId: point.conversationId, lastSeq: lastSeq)))
            connection.send(.catchUp(point.conversationId, afterSeq: point.afterSeq, entries: frames, done: done))
        } catch {
            let failure = (error as? ConfidantError) ?? ConfidantError(.internalError, "The conversation could not be read.")
            let done = FrameCodec.encode(ServerEnvelope(ref: ref, .error(failure, conversationId: point.conversationId)))
            connection.send(.catchUp(point.conversationId, afterSeq: point.afterSeq, entries: [], done: done))
        }
    }

    // MARK: Limits

    /// The rate limits a frame counts against; the error to answer with when one is exhausted.
    /// Every frame counts against its socket's budget, so that no kind of frame (a read marker
    /// is a database write) can be flooded; the kinds people send in bursts have their own rules.
    private func limit(_ frame: ClientFrame, from principal: Principal, socket: SocketState) -> ConfidantError? {
        let socketKey = String(socket.connection.id)
        var rules: [(LimitRule, String)] = [(.framesPerSocket, socketKey)]
        switch (frame, principal) {
        case (.openConversation, .visitor(let visitor)):
            rules += [
                (.conversationsPerVisitor, visitor.visitorID.rawValue), (.conversationsPerAddress, socket.endpoint.address),
                (.conversationsPerSite, visitor.siteID.rawValue),
            ]
        case (.sendMessage, .visitor(let visitor)), (.leaveOfflineMessage, .visitor(let visitor)):
            rules.append((.messagesPerVisitor, visitor.visitorID.rawValue))
        case (.sendMessage, .staff(let staff)):
            rules.append((.messagesPerAgent, staff.agentID.rawValue))
        case (.typing, _):
            rules.append((.typingPerSocket, socketKey))
        default:
            break
        }
        for (rule, subject) in rules {
            if let wait = limiter.take(rule, subject) {
                return RateLimiter.limited(rule, retryAfter: wait).error
            }
        }
        return nil
    }

    // MARK: Dispatch

    private func handle(_ envelope: ClientEnvelope, from principal: Principal, address: String, on connection: SocketConnection) async {
        let ref = envelope.ref
        let respond: Reply = { frame in reply(frame, ref: ref, on: connection) }
        do {
            switch (envelope.frame, principal) {
            case (.ping(let t), _):
                respond(.pong(t: t))
            case (.hello, _):
                throw ConfidantError(.invalidState, "This socket already said hello.")
            case (.sendMessage(let id, let clientId, let body, let visibility), _):
                try await chat.sendMessage(
                    principal, conversation: id, clientId: clientId, body: body, visibility: visibility, origin: connection.id, reply: respond)
            case (.typing(let id, let active, let visibility), _):
                try await chat.typing(principal, conversation: id, active: active, visibility: visibility, origin: connection.id)
            case (.read(let id, let seq), _):
                try await chat.markRead(principal, conversation: id, seq: seq, origin: connection.id, reply: respond)
            case (.sync(let id, let afterSeq), _):
                _ = try await chat.readAccessibleConversation(id, for: principal)
                connection.send(.beginCatchUp(id))
                await catchUp(ResumePoint(conversationId: id, afterSeq: afterSeq), for: principal, ref: ref, on: connection)
            case (.close(let id), _):
                try await chat.close(principal, conversation: id, reply: respond)
            case (.watch(let id), .staff(let staff)):
                try staff.require(.monitor)
                _ = try await chat.readAccessibleConversation(id, for: principal)
                connection.send(.beginCatchUp(id))
                await chat.hub.subscribe(connection, to: [.conversation(id)])
                await catchUp(ResumePoint(conversationId: id, afterSeq: 0), for: principal, ref: ref, on: connection)
                await audit.record(AuditEvent("conversation.watched", by: staff, address: address, target: ("conversation", id.rawValue)))
            case (.unwatch(let id), .staff):
                await chat.hub.unsubscribe(connection, from: .conversation(id))
                respond(.ok)
            case (.openConversation(let department, let name, let email, let pageURL, let language, let consent, _), .visitor(let visitor)):
                try await chat.openConversation(
                    visitor, department: department, name: name, email: email, pageURL: pageURL, language: language, consent: consent, reply: respond)
            case (.rate(let id, let score, let comment), .visitor(let visitor)):
                try await chat.rate(visitor, conversation: id, score: score, comment: comment, reply: respond)
            case (.leaveOfflineMessage(let clientId, let department, let name, let email, let body, _), .visitor(let visitor)):
                try await chat.leaveOfflineMessage(visitor, clientId: clientId, department: department, name: name, email: email, body: body, reply: respond)
            case (.withdrawConsent, .visitor(let visitor)):
                try await visitors.withdrawConsent(of: visitor)
                respond(.ok)
            case (.deleteConversation(let id), .visitor(let visitor)):
                try await visitors.deleteConversation(id, of: visitor)
                respond(.ok)
            case (.setAvailability(let availability), .staff(let staff)):
                try await chat.setAvailability(staff, availability, reply: respond)
            case (.accept(let id), .staff(let staff)):
                try await chat.accept(staff, conversation: id, reply: respond)
            case (.transfer(let id, let toAgent, let toDepartment), .staff(let staff)):
                try await chat.transfer(staff, conversation: id, toAgent: toAgent, toDepartment: toDepartment, reply: respond)
            case (.openConversation, .staff), (.rate, .staff), (.leaveOfflineMessage, .staff), (.withdrawConsent, .staff), (.deleteConversation, .staff):
                throw ConfidantError(.forbidden, "The \(envelope.frame.type) frame is for visitors.")
            case (.setAvailability, .visitor), (.accept, .visitor), (.transfer, .visitor), (.watch, .visitor), (.unwatch, .visitor):
                throw ConfidantError(.forbidden, "The \(envelope.frame.type) frame is for staff.")
            }
        } catch let error as ConfidantError {
            respond(.error(error, conversationId: envelope.frame.conversationId))
        } catch {
            logger.error("Frame failed", metadata: ["type": "\(envelope.frame.type)", "error": "\(error)"])
            respond(
                .error(
                    ConfidantError(.internalError, "The server could not handle this frame; nothing was stored."), conversationId: envelope.frame.conversationId
                ))
        }
    }

    private func reply(_ frame: ServerFrame, ref: String?, on connection: SocketConnection) {
        connection.send(.frame(FrameCodec.encode(ServerEnvelope(ref: ref, frame))))
    }

    private func refuse(_ error: ConfidantError, ref: String?, code: UInt16, on connection: SocketConnection) {
        reply(.error(error), ref: ref, on: connection)
        connection.send(.close(code: code, reason: error.code.rawValue))
    }
}
