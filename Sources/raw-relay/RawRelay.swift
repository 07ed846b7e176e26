import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// The machine's limit, for the benchmarks: a WebSocket relay on SwiftNIO with no persistence,
/// no authentication and no checks. A client connects to `/relay/ID`; each text frame it sends
/// starts with the recipient's ID and a space, and is forwarded unchanged to that socket.
///
/// Usage: `raw-relay [PORT]` (default 9100); it listens on 127.0.0.1 only.
@main
struct RawRelay {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 9100
        let registry = Registry()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 4096)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketServerUpgrader<Bool>(
                        maxFrameSize: 1 << 16,
                        shouldUpgrade: { channel, head in
                            channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/relay/") ? HTTPHeaders() : nil)
                        },
                        upgradePipelineHandler: { channel, head in
                            channel.eventLoop.makeCompletedFuture {
                                let id = String(head.uri.dropFirst("/relay/".count))
                                try channel.pipeline.syncOperations.addHandler(RelayHandler(id: id, registry: registry))
                                return true
                            }
                        }
                    )
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                        configuration: .init(
                            upgradeConfiguration: .init(
                                upgraders: [upgrader],
                                notUpgradingCompletionHandler: { channel in
                                    channel.close().map { false }
                                }
                            )
                        )
                    )
                }
            }
        print("raw-relay listening on ws://127.0.0.1:\(port)/relay/ID")
        try await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { inbound in
                for try await upgrade in inbound {
                    group.addTask { _ = try? await upgrade.get() }
                }
            }
        }
    }
}

/// Which channel holds which ID.
final class Registry: Sendable {
    private let channels = Mutex<[String: any Channel]>([:])

    func add(_ id: String, _ channel: any Channel) {
        channels.withLock { $0[id] = channel }
    }

    func remove(_ id: String, _ channel: any Channel) {
        channels.withLock { if $0[id] === channel { $0[id] = nil } }
    }

    func channel(_ id: String) -> (any Channel)? {
        channels.withLock { $0[id] }
    }
}

/// Forwards each text frame to the socket its first word names.
final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let id: String
    private let registry: Registry

    init(id: String, registry: Registry) {
        self.id = id
        self.registry = registry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        registry.add(id, context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        registry.remove(id, context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let payload = frame.unmaskedData
            guard let space = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")),
                let target = payload.getString(at: payload.readerIndex, length: space - payload.readerIndex),
                let channel = registry.channel(target)
            else { return }
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: payload), promise: nil)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer())))
                .whenComplete { _ in bound.value.close(promise: nil) }
        default:
            break
        }
    }
}
