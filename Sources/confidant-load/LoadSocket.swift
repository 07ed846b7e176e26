import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Monotonic nanoseconds; send and receive times come from the same clock in the same process.
func monotonicNanos() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds
}

/// Receives every text frame that no pending request claims, on the socket's event loop, with
/// the time it arrived.
typealias TextSink = @Sendable (ByteBuffer, _ receivedAt: UInt64) -> Void

/// Errors of the load tool's sockets.
struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A WebSocket client on SwiftNIO, built for load: frames are timestamped on the event loop as
/// they arrive, and a socket can bind to one of several loopback source addresses when one
/// address runs out of ephemeral ports.
final class LoadSocket: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<FrameHandler>

    private init(channel: any Channel, handler: NIOLoopBound<FrameHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Opens `ws://host:port/path` with extra request `headers` and hands unclaimed text frames to `sink`.
    static func connect(
        host: String, port: Int, path: String, headers: [(String, String)] = [], source: String? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, sink: @escaping TextSink
    ) async throws -> LoadSocket {
        var bootstrap = ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(30))
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let upgraded: EventLoopFuture<LoadSocket?> = try await bootstrap.connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<LoadSocket?>(maxFrameSize: 1 << 22) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = FrameHandler(sink: sink)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return LoadSocket(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                    }
                }
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                head.headers.add(name: "Host", value: "\(host):\(port)")
                head.headers.add(name: "Content-Length", value: "0")
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                var configuration = NIOUpgradableHTTPClientPipelineConfiguration(
                    upgradeConfiguration: .init(upgradeRequestHead: head, upgraders: [upgrader]) { channel in
                        channel.close().map { nil }
                    })
                configuration.leftOverBytesStrategy = .forwardBytes
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
            }
        }
        guard let socket = try await upgraded.get() else { throw LoadError("The server refused the WebSocket upgrade for \(path).") }
        return socket
    }

    /// Whether the connection is still open.
    var isOpen: Bool { channel.isActive }

    /// Whether the connection's outbound buffer has room (a flood waits when it has not, so the
    /// load tool's own memory stays bounded).
    var isWritable: Bool { channel.isWritable }

    /// Sends one text frame (masked, as the protocol requires of clients).
    func send(_ text: String) {
        channel.writeAndFlush(Self.frame(text), promise: nil)
    }

    /// Sends `text` and waits for the first text frame matching `until`; other frames go to the sink.
    func request(_ text: String?, timeout: TimeAmount = .seconds(30), until match: @escaping @Sendable (String) -> Bool) async throws -> String {
        let eventLoop = channel.eventLoop
        let handler = self.handler
        let channel = self.channel
        let promise = eventLoop.makePromise(of: String.self)
        eventLoop.execute {
            handler.value.await(match, promise: promise)
            if let text { channel.writeAndFlush(Self.frame(text), promise: nil) }
        }
        let timeoutTask = eventLoop.scheduleTask(in: timeout) { promise.fail(LoadError("No answer within \(timeout.nanoseconds / 1_000_000_000) s.")) }
        defer { timeoutTask.cancel() }
        return try await promise.futureResult.get()
    }

    /// Sends a close frame and closes the connection.
    func close() async {
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: ByteBuffer(bytes: [0x03, 0xE8]))
        try? await channel.writeAndFlush(frame).get()
        try? await channel.close().get()
    }

    private static func frame(_ text: String) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text))
    }
}

/// Timestamps text frames and routes them to a pending request or the sink.
private final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let sink: TextSink
    private var waiter: (match: @Sendable (String) -> Bool, promise: EventLoopPromise<String>)?
    private var fragments: ByteBuffer?

    init(sink: @escaping TextSink) {
        self.sink = sink
    }

    func await(_ match: @escaping @Sendable (String) -> Bool, promise: EventLoopPromise<String>) {
        waiter = (match, promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text where frame.fin:
            deliver(frame.unmaskedData)
        case .text:
            fragments = frame.unmaskedData
        case .continuation:
            var data = frame.unmaskedData
            fragments?.writeBuffer(&data)
            if frame.fin, let whole = fragments {
                fragments = nil
                deliver(whole)
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiter?.promise.fail(LoadError("The connection closed."))
        waiter = nil
        context.fireChannelInactive()
    }

    private func deliver(_ data: ByteBuffer) {
        let receivedAt = monotonicNanos()
        if let waiter {
            let text = String(buffer: data)
            if waiter.match(text) {
                self.waiter = nil
                waiter.promise.succeed(text)
                return
            }
        }
        sink(data, receivedAt)
    }
}
