import ConfidantCore
import NIOCore
import NIOWebSocket
import Synchronization

/// What a socket hands to its session, in arrival order.
enum InboundItem: Sendable {
    /// A complete text message (fragments reassembled, UTF-8 checked).
    case text(String)
    /// A binary message (refused with an error frame).
    case binary
    /// The connection ended.
    case closed
}

/// One socket's state shared between its event loop (``SocketHandler``) and the task handling
/// its frames.
///
/// Memory: an idle socket holds no task at all. A task keeps every bit of stack its deepest call
/// ever needed for as long as it lives, so a task per socket would keep the database, crypto and
/// fan-out frames of the socket's busiest moment (about 35 KiB a socket, measured; see
/// docs/benchmarks.md). Instead, arriving frames wake a short-lived task that handles everything
/// queued, one item at a time and in order, and ends when the queue is empty.
final class SocketState: Sendable {
    let connection: SocketConnection
    let endpoint: SocketEndpoint
    private let session: SocketSession
    private let channel: any Channel
    private let state = Mutex(State())

    private struct State {
        var queue = CircularBuffer<InboundItem>()
        var draining = false
        var readingPaused = false
        var principal: Principal?
        var refused = false
        var helloTimer: Scheduled<Void>?
        /// Frames refused by a rate limit since the last one let through.
        var strikes = 0
    }

    /// Reading pauses when this many items wait, and resumes when the queue is down to `resumeDepth`.
    private static let pauseDepth = 64
    private static let resumeDepth = 8

    /// Creates the state of a socket that just completed its handshake; call on its event loop.
    init(channel: any Channel, endpoint: SocketEndpoint, session: SocketSession) {
        let audience: Audience = if case .staff = endpoint { .staff } else { .visitor }
        self.connection = SocketConnection(channel: channel, audience: audience, limit: session.settings.sendQueueLimit)
        self.endpoint = endpoint
        self.session = session
        self.channel = channel
        let connection = self.connection
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(session.settings.helloTimeout.milliseconds)) {
            connection.send(.close(code: CloseCode.helloTimeout, reason: "hello expected"))
        }
        state.withLock { $0.helloTimer = timer }
    }

    /// Who the socket authenticated as in `hello`, if it did.
    var principal: Principal? { state.withLock { $0.principal } }

    /// Whether `hello` failed (the socket is closing; later frames are ignored).
    var isRefused: Bool { state.withLock { $0.refused } }

    /// Records a successful `hello`.
    func accept(_ principal: Principal) {
        let timer = state.withLock { state in
            state.principal = principal
            defer { state.helloTimer = nil }
            return state.helloTimer
        }
        timer?.cancel()
    }

    /// Records a failed `hello`.
    func refuse() {
        state.withLock { $0.refused = true }
    }

    /// Counts a frame refused by a rate limit (or resets the count when one passed); returns the
    /// number of refusals in a row.
    func strike(_ refused: Bool) -> Int {
        state.withLock { state in
            state.strikes = refused ? state.strikes + 1 : 0
            return state.strikes
        }
    }

    /// Queues an item; starts the handling task if none runs. Pauses reading when too much waits.
    /// Called on the event loop.
    func enqueue(_ item: InboundItem) {
        let (start, pause) = state.withLock { state -> (Bool, Bool) in
            state.queue.append(item)
            let start = !state.draining
            state.draining = true
            let pause = !state.readingPaused && state.queue.count >= Self.pauseDepth
            if pause { state.readingPaused = true }
            return (start, pause)
        }
        if pause { channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
        if start { Task { await self.drain() } }
    }

    private func drain() async {
        while let item = next() {
            await session.process(item, of: self)
        }
    }

    /// The next item, or nil (ending the task) when the queue is empty.
    private func next() -> InboundItem? {
        let (item, resume) = state.withLock { state -> (InboundItem?, Bool) in
            guard let item = state.queue.popFirst() else {
                state.draining = false
                return (nil, false)
            }
            let resume = state.readingPaused && state.queue.count <= Self.resumeDepth
            if resume { state.readingPaused = false }
            return (item, resume)
        }
        if resume {
            // A socket this side is closing stays unread (see ``OutboundWriter``).
            let channel = self.channel
            let connection = self.connection
            channel.eventLoop.execute {
                if !connection.sentClose { channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in } }
            }
        }
        return item
    }
}

/// The WebSocket transport of one socket, on its event loop: reassembled text messages are
/// checked for valid UTF-8 and queued for the session; pings are answered; close handshakes,
/// protocol errors and server shutdown end the socket with their close codes. The server pings
/// every `pingInterval` and drops a peer that sent nothing, not even the pong, in a whole
/// interval: a vanished client (no FIN) must not stay "online" or hold memory.
final class SocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let endpoint: SocketEndpoint
    private let session: SocketSession
    private var socket: SocketState?
    private var pinger: RepeatedTask?
    private var heardSincePing = true

    init(endpoint: SocketEndpoint, session: SocketSession) {
        self.endpoint = endpoint
        self.session = session
    }

    func handlerAdded(context: ChannelHandlerContext) {
        socket = SocketState(channel: context.channel, endpoint: endpoint, session: session)
        let interval = TimeAmount.milliseconds(session.settings.pingInterval.milliseconds)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        pinger = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in handler.value.ping(channel) }
    }

    private func ping(_ channel: any Channel) {
        guard heardSincePing else {
            channel.close(promise: nil)
            return
        }
        heardSincePing = false
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: channel.allocator.buffer(capacity: 0)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        heardSincePing = true
        switch frame.opcode {
        case .text:
            guard let text = String(validating: frame.unmaskedData.readableBytesView, as: UTF8.self) else {
                socket?.connection.send(.close(code: CloseCode.invalidText, reason: "invalid UTF-8"))
                return
            }
            socket?.enqueue(.text(text))
        case .binary:
            socket?.enqueue(.binary)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            // The peer's answer to our close: hang up. Its own close: echo its code, then hang up.
            if socket?.connection.sentClose == true {
                context.close(promise: nil)
                return
            }
            var data = frame.unmaskedData
            let code = data.readSlice(length: 2) ?? ByteBuffer()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code))).whenComplete { _ in
                bound.value.close(promise: nil)
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pinger?.cancel()
        pinger = nil
        socket?.enqueue(.closed)
        socket = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge, NIOWebSocketFrameAggregator.Error.tooManyFragments:
            socket?.connection.send(.close(code: CloseCode.messageTooLarge, reason: "message too large"))
        case is NIOWebSocketFrameAggregator.Error:
            socket?.connection.send(.close(code: CloseCode.protocolError, reason: "protocol error"))
        case is NIOWebSocketError:
            break  // NIO's protocol error handler already sent the close frame (1002, 1009) and closes.
        default:
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: clients reconnect, here or to another node, and resume.
            socket?.connection.send(.close(code: CloseCode.goingAway, reason: "server shutting down"))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
