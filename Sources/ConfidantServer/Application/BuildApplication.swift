import ConfidantCore
public import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// Builds the Confidant application for an opened runtime: routes, WebSocket endpoints and the
/// services that run beside the server. Migrations run before the server accepts connections.
/// `onServerRunning` receives the bound port (useful with port 0).
public func buildApplication(
    _ runtime: ConfidantRuntime, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let configuration = runtime.configuration
    let logger = runtime.logger
    let database = runtime.database
    let hub = Hub()
    let chat = ChatService(
        database: database, keys: runtime.keys, hub: hub,
        settings: ChatSettings(presenceTTL: configuration.presenceTTL, heartbeatInterval: configuration.heartbeatInterval, nodeID: configuration.nodeID),
        logger: logger
    )
    let authenticator = try await StaffAuthenticator(
        database: database, hasher: PasswordHasher(cost: configuration.bcryptCost),
        settings: SessionSettings(idleTimeout: configuration.sessionIdleTimeout, absoluteTimeout: configuration.sessionAbsoluteTimeout), hub: hub
    )
    let origins = OriginPolicy(publicOrigin: configuration.publicOrigin, database: database)
    let cookie = SessionCookie(secure: configuration.isSecure)
    let visitorTokens = VisitorTokens(masterKey: runtime.masterKey, lifetime: configuration.visitorTokenLifetime)

    // HTTP routes. Middleware applies to the routes added after it.
    let router = Router(context: AppRequestContext.self)
    guard let publicDirectory = PageController.bundledPublicDirectory else {
        throw ConfigurationError("The web front ends (the Public resources) are missing from this build.")
    }
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware())
    // Static files answer only paths no route claims; `/console/` serves console/index.html.
    router.add(
        middleware: FileMiddleware(publicDirectory, cacheControl: .init([(MediaType(type: .any), [.noCache])]), searchForIndexHtml: true, logger: logger))
    try PageController(database: database, publicDirectory: publicDirectory).addRoutes(to: router)
    HealthController(database: database, keyStore: runtime.keys).addRoutes(to: router)
    VisitorSessionController(database: database, keys: runtime.keys, tokens: visitorTokens, origins: origins).addRoutes(to: router)
    router.add(middleware: StaffSessionMiddleware(authenticator: authenticator, cookie: cookie))
    router.add(middleware: SameOriginMiddleware(origins: origins))
    let auth = AuthController(authenticator: authenticator, cookie: cookie, database: database, sessionLifetime: configuration.sessionAbsoluteTimeout)
    auth.addPublicRoutes(to: router)
    let api = router.group("v1").add(middleware: RequireStaffMiddleware())
    auth.addRoutes(to: api)
    DirectoryController(database: database).addRoutes(to: api)
    AgentController(database: database, authenticator: authenticator, chat: chat).addRoutes(to: api)
    ConversationController(chat: chat).addRoutes(to: api)
    CannedResponseController(database: database).addRoutes(to: api)
    OfflineMessageController(database: database, keys: runtime.keys).addRoutes(to: api)

    // WebSocket endpoints.
    let sessions = SocketSession(
        chat: chat, visitorTokens: visitorTokens, origins: origins,
        settings: RealtimeSettings(helloTimeout: configuration.helloTimeout, sendQueueLimit: configuration.sendQueueLimit), logger: logger
    )
    let webSocketRouter = Router(context: AppRequestContext.self)
    webSocketRouter.ws("/v1/ws/visitor") { inbound, outbound, context in
        try await sessions.run(inbound: inbound, outbound: outbound, endpoint: .visitor(origin: context.request.headers[.origin]))
    }
    webSocketRouter.add(middleware: StaffSessionMiddleware(authenticator: authenticator, cookie: cookie))
    webSocketRouter.ws("/v1/ws/agent") { request, context in
        // Refused handshakes get HTTP 400 from the WebSocket layer.
        guard context.staff != nil, origins.allowsStaff(origin: request.headers[.origin]) else { return .dontUpgrade }
        return .upgrade([:])
    } onUpgrade: { inbound, outbound, context in
        guard let staff = context.requestContext.staff else { return }
        try await sessions.run(inbound: inbound, outbound: outbound, endpoint: .staff(staff))
    }

    let webSocketResponder = webSocketRouter.buildResponder()
    let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
        http1: .init(idleTimeout: .milliseconds(configuration.httpIdleTimeout.milliseconds)),
        ws: .init(maxFrameSize: Limits.maxFrameBytes, autoPing: .enabled(timePeriod: .seconds(30)), validateUTF8: true)
    )
    let headTimeout = TimeAmount.milliseconds(configuration.httpHeaderTimeout.milliseconds)
    var app = Application(
        router: router,
        server: HTTPServerBuilder { responder in
            RequestHeadDeadline(
                base: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
                timeout: headTimeout)
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    app.addServices(runtime.services)
    app.addServices(PresenceService(chat: chat))
    app.beforeServerStarts {
        let applied = try await runtime.prepare()
        if applied > 0 { logger.info("Applied database migrations", metadata: ["count": "\(applied)"]) }
    }
    return app
}
