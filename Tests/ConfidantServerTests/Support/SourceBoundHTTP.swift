import Foundation
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One HTTP/1.1 exchange over a connection bound to a chosen source address (127.0.0.2 for the
/// network allowlist tests: Linux routes all of 127.0.0.0/8 to loopback). The request says
/// `Connection: close` and the whole answer is read until the server closes. A WebSocket
/// handshake is just a request here: the status line tells whether the upgrade was accepted.
enum SourceBoundHTTP {
    /// The headers of a WebSocket upgrade request (RFC 6455's sample key).
    static let webSocketHandshake = [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]

    struct Reply: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: String

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func send(
        from source: String, port: Int, _ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> Reply {
        var lines = ["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Connection: close"]
        for (name, value) in headers { lines.append("\(name): \(value)") }
        if let body {
            lines.append("Content-Type: application/json")
            lines.append("Content-Length: \(body.utf8.count)")
        }
        let request = lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelInitializer { channel in channel.pipeline.addHandler(collector) }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request))
        let text = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await collector.done.futureResult.get() }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                channel.close(promise: nil)
                throw CancellationError()
            }
            let text = try await group.next()!
            group.cancelAll()
            return text
        }
        return parse(text)
    }

    private static func parse(_ text: String) -> Reply {
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first?.components(separatedBy: "\r\n") ?? []
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Reply(status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// Collects everything the server sends until it closes (or, for an accepted WebSocket
    /// upgrade, until the handshake's head has arrived).
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let done: EventLoopPromise<String>
        private let received = NIOLockedValueBox("")

        init() {
            done = MultiThreadedEventLoopGroup.singleton.next().makePromise()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = received.withLockedValue {
                $0 += String(buffer: unwrapInboundIn(data))
                return $0
            }
            if text.hasPrefix("HTTP/1.1 101"), text.contains("\r\n\r\n") {
                done.succeed(text)
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(received.withLockedValue { $0 })
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(error)
            context.close(promise: nil)
        }
    }
}
