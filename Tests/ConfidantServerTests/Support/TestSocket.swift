import ConfidantCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Testing

/// A real WebSocket client for tests (swift-websocket's client over loopback): send frames,
/// wait for frames with a timeout, observe the close code.
final class TestSocket: Sendable {
    private let inbox: Inbox
    private let outgoing: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation
    private let task: Task<Void, Never>

    enum Failure: Error, CustomStringConvertible {
        case timeout(String)
        case refused(any Error)
        case closed(UInt16?)
        var description: String {
            switch self {
            case .timeout(let what): "timed out waiting for \(what)"
            case .refused(let error): "connection refused: \(error)"
            case .closed(let code): "socket closed (\(code.map(String.init) ?? "no code"))"
            }
        }
    }

    private init(inbox: Inbox, outgoing: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation, task: Task<Void, Never>) {
        self.inbox = inbox
        self.outgoing = outgoing
        self.task = task
    }

    /// Connects; throws ``Failure/refused(_:)`` if the handshake is refused. The client sends
    /// `Origin: http://HOST` (no port), like a page served from that host would.
    static func connect(port: Int, path: String, host: String = "127.0.0.1", headers: HTTPFields = [:]) async throws -> TestSocket {
        let inbox = Inbox()
        let (stream, outgoing) = AsyncStream<WebSocketOutboundWriter.OutboundFrame>.makeStream()
        var logger = Logger(label: "test-socket")
        logger.logLevel = .critical
        let task = Task {
            do {
                let close = try await WebSocketClient.connect(
                    url: "http://\(host):\(port)\(path)",
                    configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers, autoPing: .disabled),
                    logger: logger
                ) { inbound, outbound, _ in
                    await inbox.opened()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await frame in stream { try await outbound.write(frame) }
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            if case .text(let text) = message { await inbox.received(text) }
                        }
                        group.cancelAll()
                    }
                }
                await inbox.closed(close.map { UInt16(webSocketErrorCode: $0.closeCode) })
            } catch {
                await inbox.failed(error)
            }
        }
        let socket = TestSocket(inbox: inbox, outgoing: outgoing, task: task)
        try await socket.waitUntil("the handshake", timeout: .seconds(10)) { state in
            if let error = state.failure, !state.isOpen { throw Failure.refused(error) }
            return state.isOpen || state.isClosed
        }
        if await !inbox.state.isOpen { throw Failure.refused(Failure.closed(await inbox.state.closeCode)) }
        return socket
    }

    /// Sends a client frame.
    func send(_ frame: ClientFrame, ref: String? = nil) {
        outgoing.yield(.text(FrameCodec.encode(ClientEnvelope(ref: ref, frame))))
    }

    /// Sends raw text (for malformed input).
    func sendText(_ text: String) {
        outgoing.yield(.text(text))
    }

    /// Sends any frame, including binary or invalid ones.
    func sendRaw(_ frame: WebSocketOutboundWriter.OutboundFrame) {
        outgoing.yield(frame)
    }

    /// Closes the socket from this side.
    func close() {
        outgoing.finish()
    }

    /// The next frame (removing it), or throws after `timeout`.
    func next(timeout: Duration = .seconds(10)) async throws -> ServerEnvelope {
        try await next(timeout: timeout) { _ in true }
    }

    /// The next frame matching `match`, skipping (and discarding) others.
    func next(timeout: Duration = .seconds(10), _ what: String = "a frame", where match: @escaping @Sendable (ServerEnvelope) -> Bool) async throws
        -> ServerEnvelope
    {
        try await poll(what, timeout: timeout) { _ in try await self.inbox.take(where: match) }
    }

    /// The next frame of a given `type`.
    func next(type: String, timeout: Duration = .seconds(10)) async throws -> ServerEnvelope {
        try await next(timeout: timeout, "a \(type) frame") { $0.frame.type == type }
    }

    /// Every frame received so far that matches, without removing them.
    func received(where match: @Sendable (ServerEnvelope) -> Bool) async throws -> [ServerEnvelope] {
        try await inbox.all().filter(match)
    }

    /// Raw text of every frame received so far.
    func receivedTexts() async -> [String] {
        await inbox.state.texts
    }

    /// Waits for the server to close the socket; returns the close code.
    func closeCode(timeout: Duration = .seconds(10)) async throws -> UInt16? {
        try await waitUntil("the socket to close", timeout: timeout) { $0.isClosed }
        return await inbox.state.closeCode
    }

    private func waitUntil(_ what: String, timeout: Duration, _ done: @Sendable (Inbox.State) async throws -> Bool) async throws {
        _ = try await poll(what, timeout: timeout, failOnClose: false) { state in try await done(state) ? true : nil }
    }

    /// Polls `probe` until it yields a value; fails on timeout, or when the socket closed with
    /// nothing left to read (if `failOnClose`).
    private func poll<T: Sendable>(_ what: String, timeout: Duration, failOnClose: Bool = true, _ probe: @Sendable (Inbox.State) async throws -> T?)
        async throws -> T
    {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = try await probe(await inbox.state) { return value }
            let state = await inbox.state
            if failOnClose, state.isClosed, state.pending.isEmpty { throw Failure.closed(state.closeCode) }
            guard ContinuousClock.now < deadline else { throw Failure.timeout(what) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    deinit {
        outgoing.finish()
    }

    actor Inbox {
        struct State: Sendable {
            var isOpen = false
            var isClosed = false
            var closeCode: UInt16?
            var failure: (any Error)?
            var pending: [String] = []
            var texts: [String] = []
        }
        var state = State()

        func opened() { state.isOpen = true }
        func received(_ text: String) {
            state.pending.append(text)
            state.texts.append(text)
        }
        func closed(_ code: UInt16?) {
            state.isClosed = true
            state.closeCode = code
        }
        func failed(_ error: any Error) {
            state.failure = error
            state.isClosed = true
        }
        func take(where match: (ServerEnvelope) -> Bool) throws -> ServerEnvelope? {
            for (index, text) in state.pending.enumerated() {
                let envelope = try FrameCodec.decodeServerFrame(text)
                if match(envelope) {
                    state.pending.removeSubrange(0...index)
                    return envelope
                }
            }
            return nil
        }
        func all() throws -> [ServerEnvelope] {
            try state.texts.map(FrameCodec.decodeServerFrame)
        }
    }
}

extension UInt16 {
    init(webSocketErrorCode code: WebSocketErrorCode) {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        self = buffer.readInteger(as: UInt16.self) ?? 0
    }
}
