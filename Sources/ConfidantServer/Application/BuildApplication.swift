import ConfidantCore
import Foundation
public import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The services one running Confidant shares between its routes, sockets and background work.
struct ApplicationParts: Sendable {
    let hub: Hub
    let chat: ChatService
    let audit: AuditLog
    let metrics: ProtectionMetrics
    let authenticator: StaffAuthenticator
    let origins: OriginPolicy
    let cookie: SessionCookie
    let visitorTokens: VisitorTokens
    let identities: VisitorIdentityTokens
    let addresses: ClientAddressResolver
    let limiter: RateLimiter
    let spam: SpamGuard
    let caps: ConnectionCaps
    let visitors: VisitorData

    init(_ runtime: ConfidantRuntime) async throws {
        let configuration = runtime.configuration
        let database = runtime.database
        hub = Hub()
        chat = ChatService(
            database: database, keys: runtime.keys, hub: hub,
            settings: ChatSettings(configuration),
            logger: runtime.logger
        )
        audit = AuditLog(database: database, logger: runtime.logger)
        metrics = ProtectionMetrics()
        authenticator = try await StaffAuthenticator(
            database: database, hasher: PasswordHasher(cost: configuration.bcryptCost),
            settings: SessionSettings(idleTimeout: configuration.sessionIdleTimeout, absoluteTimeout: configuration.sessionAbsoluteTimeout), hub: hub,
            audit: audit, policies: SecurityPolicyStore(database: database), vault: TwoFactorVault(masterKey: runtime.masterKey), metrics: metrics
        )
        origins = OriginPolicy(publicOrigin: configuration.publicOrigin, database: database)
        cookie = SessionCookie(secure: configuration.isSecure)
        visitorTokens = VisitorTokens(masterKey: runtime.masterKey, lifetime: configuration.visitorTokenLifetime)
        identities = VisitorIdentityTokens(masterKey: runtime.masterKey)
        addresses = ClientAddressResolver(trustedProxies: configuration.trustedProxies.compactMap(NetworkRange.init))
        let audit = audit
        limiter = RateLimiter(
            rates: configuration.rateLimits, metrics: metrics, logger: runtime.logger,
            onTrip: { rule, subject in
                Task {
                    await audit.record(
                        AuditEvent(
                            actorKind: .anonymous, actorId: nil, action: "rate_limit.tripped", targetKind: "rate_limit", targetId: rule.rawValue,
                            outcome: .failure, details: ["subject": subject]))
                }
            })
        spam = SpamGuard(
            database: database, linksPerMessage: configuration.linksPerMessage, minimumFillTime: configuration.formMinimumFillMs, metrics: metrics)
        caps = ConnectionCaps(
            total: configuration.socketsTotal, perAddress: configuration.socketsPerAddress, perVisitor: configuration.socketsPerVisitor, metrics: metrics)
        visitors = VisitorData(database: database, keys: runtime.keys, chat: chat)
    }
}

/// The HTTP routes of the REST API (docs/openapi.yaml) and the pages, behind their middleware.
/// Middleware applies to the routes added after it.
func buildRouter(_ runtime: ConfidantRuntime, _ parts: ApplicationParts) throws -> Router<AppRequestContext> {
    let configuration = runtime.configuration
    let database = runtime.database
    let router = Router(context: AppRequestContext.self)
    guard let publicDirectory = PageController.bundledPublicDirectory else {
        throw ConfigurationError("The web front ends (the Public resources) are missing from this build.")
    }
    router.add(middleware: SecurityHeadersMiddleware(strictTransportSecurity: configuration.isSecure))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: ClientAddressMiddleware(resolver: parts.addresses))
    router.add(middleware: RateLimitMiddleware(limiter: parts.limiter, phase: .anonymous))
    router.add(middleware: ConsoleNetworkMiddleware(policies: parts.authenticator.policies))
    // Static files answer only paths no route claims; `/console/` serves console/index.html.
    router.add(
        middleware: FileMiddleware(
            publicDirectory, cacheControl: .init([(MediaType(type: .any), [.noCache])]), searchForIndexHtml: true, logger: runtime.logger))
    try PageController(database: database, publicDirectory: publicDirectory).addRoutes(to: router)
    HealthController(database: database, keyStore: runtime.keys).addRoutes(to: router)
    let cspReports = CSPReportController(database: database)
    cspReports.addPublicRoutes(to: router)
    VisitorSessionController(
        database: database, keys: runtime.keys, tokens: parts.visitorTokens, identities: parts.identities, origins: parts.origins,
        audit: parts.audit, limiter: parts.limiter
    )
    .addRoutes(to: router)
    router.add(middleware: StaffSessionMiddleware(authenticator: parts.authenticator, cookie: parts.cookie))
    router.add(middleware: RateLimitMiddleware(limiter: parts.limiter, phase: .staff))
    router.add(middleware: SameOriginMiddleware(origins: parts.origins))
    let auth = AuthController(
        authenticator: parts.authenticator, cookie: parts.cookie, database: database, sessionLifetime: configuration.sessionAbsoluteTimeout,
        limiter: parts.limiter)
    auth.addPublicRoutes(to: router)
    let api = router.group("v1").add(middleware: RequireStaffMiddleware())
    auth.addRoutes(to: api)
    DirectoryController(database: database, identities: parts.identities).addRoutes(to: api)
    AgentController(database: database, authenticator: parts.authenticator, chat: parts.chat).addRoutes(to: api)
    ConversationController(chat: parts.chat).addRoutes(to: api)
    CannedResponseController(database: database).addRoutes(to: api)
    OfflineMessageController(database: database, keys: runtime.keys).addRoutes(to: api)
    SecurityPolicyController(authenticator: parts.authenticator).addRoutes(to: api)
    AuditController(database: database).addRoutes(to: api)
    SecurityAlertController(database: database).addRoutes(to: api)
    APITokenController(authenticator: parts.authenticator).addRoutes(to: api)
    ReportController(database: database).addRoutes(to: api)
    cspReports.addRoutes(to: api)
    BlocklistController(database: database, chat: parts.chat, spam: parts.spam).addRoutes(to: api)
    PrivacyController(visitors: parts.visitors).addRoutes(to: api)
    return router
}

/// Builds the Confidant application for an opened runtime: routes, WebSocket endpoints and the
/// services that run beside the server. Migrations run before the server accepts connections.
/// `onServerRunning` receives the bound port (useful with port 0).
public func buildApplication(
    _ runtime: ConfidantRuntime, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let configuration = runtime.configuration
    let logger = runtime.logger
    let parts = try await ApplicationParts(runtime)
    let router = try buildRouter(runtime, parts)
    UnsupportedMethods.answer(on: router)

    // WebSocket endpoints.
    let sessions = SocketSession(
        chat: parts.chat, visitors: parts.visitors, visitorTokens: parts.visitorTokens, origins: parts.origins,
        settings: RealtimeSettings(
            helloTimeout: configuration.helloTimeout, sendQueueLimit: configuration.sendQueueLimit, pingInterval: configuration.pingInterval),
        audit: parts.audit, limiter: parts.limiter, caps: parts.caps, spam: parts.spam, logger: logger
    )
    // The handshake decides the endpoint. Staff sockets need a complete session (every factor
    // done), from an allowed network and, when a browser sends Origin, Confidant's own origin
    // (cross-site WebSocket hijacking); visitors authenticate in `hello`, and their Origin is
    // checked against the site then.
    // Every socket counts against the connection caps from its handshake until it closes.
    let authorize: RealtimeChannel.Authorize = { head, peer in
        let origin = head.headers.first(name: "origin")
        let address = parts.addresses.resolve(peer: peer, forwardedFor: head.headers["x-forwarded-for"])
        let endpoint: SocketEndpoint
        switch head.uri.split(separator: "?", maxSplits: 1).first {
        case "/v1/ws/visitor":
            endpoint = .visitor(origin: origin, address: address)
        case "/v1/ws/agent":
            guard parts.origins.allowsStaff(origin: origin), let token = parts.cookie.token(inCookieHeaders: head.headers["cookie"]),
                let staff = try? await parts.authenticator.identity(forToken: token, address: address), staff.stage == .complete
            else { return .refuse(.badRequest) }
            endpoint = .staff(staff, address: address)
        default:
            return .refuse(.badRequest)
        }
        guard parts.caps.admit(address: address) else {
            logger.notice("WebSocket refused: connection cap", metadata: ["address": "\(address)"])
            return .refuse(.tooManyRequests)
        }
        return .accept(endpoint)
    }
    let headTimeout = TimeAmount.milliseconds(configuration.httpHeaderTimeout.milliseconds)
    let tls = try configuration.tlsCertificateFile.map { certificate in
        try TLSContextStore(files: TLSFiles(certificateFile: certificate, keyFile: configuration.tlsKeyFile!))
    }
    var app = Application(
        router: router,
        server: HTTPServerBuilder { responder in
            let plain = RequestHeadDeadline(
                base: RealtimeChannel(responder: responder, idleTimeout: configuration.httpIdleTimeout, sessions: sessions, authorize: authorize),
                timeout: headTimeout)
            guard let tls else { return plain }
            return TLSTerminatingChannel(base: plain, contexts: tls)
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    app.addServices(runtime.services)
    app.addServices(
        PresenceService(chat: parts.chat), AccessSweeper(authenticator: parts.authenticator, interval: .seconds(60)),
        RetentionSweeper(database: runtime.database, visitors: parts.visitors, interval: configuration.retentionInterval, logger: logger),
        AuditHeadWriter(
            database: runtime.database, file: URL(fileURLWithPath: configuration.effectiveAuditHeadFile), interval: configuration.auditHeadInterval,
            logger: logger),
        SecurityAlertMonitor(
            database: runtime.database, hub: parts.hub, rules: AlertRules(configuration),
            webhook: AlertWebhook(configuration, logger: logger),
            interval: configuration.alertCheckInterval, logger: logger))
    if let port = configuration.metricsPort {
        app.addServices(parts.metrics.metricsApplication(host: configuration.metricsHost, port: port, logger: logger))
    }
    if let tls {
        app.addServices(TLSReloadService(contexts: tls, logger: logger))
        if let port = configuration.tlsRedirectPort {
            app.addServices(HTTPSRedirect.application(host: configuration.host, port: port, publicURL: configuration.effectivePublicURL, logger: logger))
        }
    }
    app.beforeServerStarts {
        let applied = try await runtime.prepare()
        if applied > 0 { logger.info("Applied database migrations", metadata: ["count": "\(applied)"]) }
    }
    return app
}
