import ConfidantCore
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Each connection to the server: HTTP requests go to Hummingbird's responder; a WebSocket
/// upgrade to one of the realtime endpoints, once ``RealtimeChannel/authorize`` accepts it,
/// becomes a ``SocketHandler`` on the connection's event loop, and the connection's task ends
/// there (the socket needs no task while idle; see ``SocketState``). Refused upgrades get HTTP 400 (429 at a connection cap)
/// and no socket opens.
struct RealtimeChannel: ServerChildChannel, HTTPChannelHandler {
    /// Decides whether a WebSocket handshake may proceed and for which endpoint, given the
    /// request head and the TCP peer's address.
    typealias Authorize = @Sendable (HTTPRequestHead, String) async -> Handshake

    /// The answer to a WebSocket handshake.
    enum Handshake: Sendable {
        /// Open a socket for this endpoint (it then counts against the connection caps).
        case accept(SocketEndpoint)
        /// No socket; answer with this status (400 for a bad or unauthorized handshake, 429 at
        /// a connection cap).
        case refuse(HTTPResponse.Status)
    }

    enum Negotiated: Sendable {
        case webSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, HTTPResponse.Status)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: Duration
    let sessions: SocketSession
    let authorize: Authorize

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let attempted = NIOLoopBoundBox<Handshake?>(nil, eventLoop: channel.eventLoop)
            let endpoint = NIOLoopBoundBox<SocketEndpoint?>(nil, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: Limits.maxFrameBytes,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: Handshake.self)
                    let peer = channel.remoteAddress?.ipAddress ?? "unknown"
                    promise.completeWithTask { await authorize(head, peer) }
                    return promise.futureResult.map { handshake in
                        attempted.value = handshake
                        guard case .accept(let accepted) = handshake else { return nil }
                        endpoint.value = accepted
                        return HTTPHeaders()
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let authorized = endpoint.value else { throw ChannelError.inappropriateOperationForState }
                        try channel.pipeline.syncOperations.addHandler(
                            NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: Limits.maxFrameBytes))
                        try channel.pipeline.syncOperations.addHandler(SocketHandler(endpoint: authorized, session: sessions))
                        return .webSocket
                    }
                }
            )
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration(upgraders: [upgrader]) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                    try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
                    let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    if case .refuse(let status)? = attempted.value { return .refusedUpgrade(http, status) }
                    return .http(http)
                }
            }
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false  // NIOAsyncChannel pipelines HTTP
            configuration.enableErrorHandling = false  // Hummingbird answers HTTP errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .webSocket:
                return
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refusedUpgrade(let http, let status):
                try await http.executeThenClose { _, outbound in
                    try await outbound.write(contentsOf: [
                        .head(HTTPResponse(status: status, headerFields: [.connection: "close", .contentLength: "0"])), .end(nil),
                    ])
                }
            }
        } catch {
            logger.debug("Connection ended during negotiation", metadata: ["error": "\(error)"])
        }
    }
}
