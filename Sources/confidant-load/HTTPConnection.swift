import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP response, with the body as text.
struct HTTPResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: String
}

/// A minimal keep-alive HTTP/1.1 client for setting up load (sign-ins, sites, visitor tokens):
/// requests on one connection are answered in order.
final class HTTPConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<ResponseHandler>
    private let host: String

    private init(channel: any Channel, handler: NIOLoopBound<ResponseHandler>, host: String) {
        self.channel = channel
        self.handler = handler
        self.host = host
    }

    /// Connects to `host:port`.
    static func connect(host: String, port: Int) async throws -> HTTPConnection {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let handler = ResponseHandler()
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return HTTPConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), host: "\(host):\(port)")
                }
            }
    }

    /// Sends a request with a JSON body (when given) and waits for its response.
    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], json: String? = nil) async throws -> HTTPResponse {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let body = json.map { ByteBuffer(string: $0) }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        } else {
            head.headers.add(name: "Content-Length", value: "0")
        }
        let promise = channel.eventLoop.makePromise(of: HTTPResponse.self)
        let handler = self.handler
        let channel = self.channel
        channel.eventLoop.execute {
            handler.value.enqueue(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return try await promise.futureResult.get()
    }

    /// Closes the connection.
    func close() async {
        try? await channel.close().get()
    }
}

/// Collects each response and completes the oldest waiting request with it.
private final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private var waiting = CircularBuffer<EventLoopPromise<HTTPResponse>>()
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func enqueue(_ promise: EventLoopPromise<HTTPResponse>) {
        waiting.append(promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head, let promise = waiting.popFirst() else { return }
            promise.succeed(HTTPResponse(status: Int(head.status.code), headers: head.headers, body: String(buffer: body)))
            self.head = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(LoadError("The HTTP connection closed.")) }
        context.fireChannelInactive()
    }
}
