import ConfidantCore
import Hummingbird

/// Staff sign-in and sign-out: `POST /v1/auth/login`, `POST /v1/auth/logout`, `GET /v1/auth/me`.
struct AuthController {
    let authenticator: StaffAuthenticator
    let cookie: SessionCookie
    let database: any Database
    let sessionLifetime: Duration

    private struct LoginRequest: Decodable {
        let email: String
        let password: String
    }

    /// Sign-in is public; the rest needs a session.
    func addPublicRoutes(to router: Router<AppRequestContext>) {
        router.post("/v1/auth/login") { request, context -> Response in
            let body = try await request.decodeJSON(LoginRequest.self, context: context)
            // A new session id at every sign-in; a session presented with the request ends (fixation).
            if let old = context.sessionToken { try await authenticator.logout(sessionHash: StaffAuthenticator.hash(old)) }
            let (token, agent, expiresAt) = try await authenticator.login(
                email: body.email, password: body.password, userAgent: request.headers[.userAgent] ?? "", address: context.remoteAddress
            )
            let departments = try await database.read { try await $0.departments(ofAgent: agent.agentID) }
            var response = try SessionResponse(agent: AgentView(agent, departments: departments), expiresAt: expiresAt).response(
                from: request, context: context)
            response.setCookie(cookie.issue(token, maxAge: sessionLifetime))
            return response
        }
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.post("/auth/logout") { request, context -> Response in
            if let token = context.sessionToken { try await authenticator.logout(sessionHash: StaffAuthenticator.hash(token)) }
            var response = Response(status: .noContent)
            response.setCookie(cookie.clear())
            return response
        }
        router.get("/auth/me") { _, context -> SessionResponse in
            guard let staff = context.staff, let agent = try await database.read({ try await $0.agent(id: staff.agentID) }) else {
                throw ConfidantError.unauthenticated
            }
            return SessionResponse(agent: AgentView(agent, departments: staff.departments.sorted { $0.rawValue < $1.rawValue }), expiresAt: nil)
        }
    }
}

/// `POST /v1/visitor/sessions`: a visitor token for a site's widget key. Public, but only from
/// the site's allowed origins (or Confidant's own, the widget frame).
struct VisitorSessionController {
    let database: any Database
    let keys: KeyStore
    let tokens: VisitorTokens
    let origins: OriginPolicy

    private struct SessionRequest: Decodable {
        let siteKey: String
        /// A token held from before: the same visitor continues if it is valid for this site.
        let token: String?
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/v1/visitor/sessions") { request, context -> EditedResponse<VisitorSessionResponse> in
            let body = try await request.decodeJSON(SessionRequest.self, context: context)
            guard body.siteKey.utf8.count <= 64, let site = try await database.read({ try await $0.site(widgetKey: body.siteKey) }) else {
                throw ConfidantError(.notFound, "No site has this widget key.")
            }
            guard origins.allowsVisitor(origin: request.headers[.origin], site: site) else {
                throw ConfidantError(.crossOrigin, "This page's origin may not use this site's chat.")
            }
            let siteID = SiteID(trusted: site.id)
            var visitor = body.token.flatMap { tokens.verify($0) }.flatMap { $0.siteID == siteID ? $0.visitorID : nil }
            if let known = visitor, try await database.read({ try await $0.visitor(id: known) }) == nil { visitor = nil }
            let visitorID: VisitorID
            if let visitor {
                visitorID = visitor
                try await database.transaction { try await $0.touchVisitor(id: visitor) }
            } else {
                visitorID = VisitorID()
                _ = try await keys.createDataKey(for: visitorID)
                try await database.transaction { try await $0.insertVisitor(id: visitorID, site: siteID) }
            }
            let (token, expiresAt) = tokens.issue(visitor: visitorID, site: siteID)
            return EditedResponse(
                status: visitor == nil ? .created : .ok,
                response: VisitorSessionResponse(token: token, visitorId: visitorID, siteId: siteID, expiresAt: expiresAt))
        }
    }
}
