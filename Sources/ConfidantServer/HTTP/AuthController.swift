import ConfidantCore
import Hummingbird

/// Staff sign-in, the second factor, sessions and one's own credentials, under `/v1/auth`:
/// `POST login`, `POST 2fa/verify`, `GET me`, `POST logout`, `POST password`,
/// `POST 2fa/enroll`, `POST 2fa/confirm`, `POST 2fa/disable`, `POST 2fa/recovery-codes`,
/// `GET sessions`, `DELETE sessions/{id}`. Every step that raises a session's stage answers with
/// a new session cookie (the old token stops working).
struct AuthController {
    let authenticator: StaffAuthenticator
    let cookie: SessionCookie
    let database: any Database
    let sessionLifetime: Duration
    let limiter: RateLimiter

    private struct LoginRequest: Decodable {
        let email: String
        let password: String
    }

    private struct SecondFactorRequest: Decodable {
        let code: String?
        let recoveryCode: String?
    }

    private struct PasswordChange: Decodable {
        let currentPassword: String
        let newPassword: String
    }

    private struct Reauthentication: Decodable {
        let password: String?
        let code: String?
    }

    private struct CodeRequest: Decodable {
        let code: String
    }

    private struct RecoveryCodes: ResponseEncodable {
        let recoveryCodes: [String]
        var session: SessionResponse?
    }

    /// Sign-in is public; the rest needs a session.
    func addPublicRoutes(to router: Router<AppRequestContext>) {
        router.post("/v1/auth/login") { request, context -> Response in
            try limiter.enforce(.signInPerAddress, context.remoteAddress)
            let body = try await request.decodeJSON(LoginRequest.self, context: context)
            let issued = try await authenticator.login(
                email: body.email, password: body.password, userAgent: request.headers[.userAgent] ?? "", address: context.remoteAddress)
            // A new session id at every sign-in; a session presented with a successful one ends
            // (fixation). A failed attempt leaves it alone: it proves nothing about its holder.
            if let old = context.sessionToken { try await authenticator.logout(sessionHash: StaffAuthenticator.hash(old)) }
            return try await respond(with: issued, request: request, context: context)
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
            let staff = try context.requireSession()
            return try await sessionResponse(for: staff, expiresAt: nil)
        }
        router.post("/auth/2fa/verify") { request, context -> Response in
            let staff = try context.requireSession()
            let body = try await request.decodeJSON(SecondFactorRequest.self, context: context)
            guard (body.code == nil) != (body.recoveryCode == nil) else {
                throw ConfidantError(.invalidRequest, "Send either 'code' or 'recoveryCode'.")
            }
            let issued = try await authenticator.verifySecondFactor(
                staff, code: body.code, recoveryCode: body.recoveryCode, userAgent: request.headers[.userAgent] ?? "", address: context.remoteAddress)
            return try await respond(with: issued, request: request, context: context)
        }
        router.post("/auth/password") { request, context -> Response in
            let staff = try context.requireSession()
            guard staff.stage == .complete || staff.stage == .changePassword else { throw ConfidantError.unauthenticated }
            let body = try await request.decodeJSON(PasswordChange.self, context: context)
            let issued = try await authenticator.changePassword(
                staff, current: body.currentPassword, new: body.newPassword, userAgent: request.headers[.userAgent] ?? "", address: context.remoteAddress)
            return try await respond(with: issued, request: request, context: context)
        }
        router.post("/auth/2fa/enroll") { request, context -> StaffAuthenticator.Enrollment in
            let staff = try context.requireSession()
            guard staff.stage == .complete || staff.stage == .enrollTwoFactor else { throw ConfidantError.unauthenticated }
            let body = try await request.decodeJSON(Reauthentication.self, context: context)
            return try await authenticator.beginEnrollment(staff, password: body.password, code: body.code, address: context.remoteAddress)
        }
        router.post("/auth/2fa/confirm") { request, context -> Response in
            let staff = try context.requireSession()
            guard staff.stage == .complete || staff.stage == .enrollTwoFactor else { throw ConfidantError.unauthenticated }
            let body = try await request.decodeJSON(CodeRequest.self, context: context)
            let (codes, issued) = try await authenticator.confirmEnrollment(
                staff, code: body.code, userAgent: request.headers[.userAgent] ?? "", address: context.remoteAddress)
            let session = try await sessionResponse(issued)
            var response = try RecoveryCodes(recoveryCodes: codes, session: session).response(from: request, context: context)
            response.setCookie(cookie.issue(issued.token, maxAge: sessionLifetime))
            return response
        }
        router.post("/auth/2fa/disable") { request, context -> Response in
            let staff = try context.requireCompleteSession()
            let body = try await request.decodeJSON(Reauthentication.self, context: context)
            try await authenticator.disableTwoFactor(staff, password: body.password, code: body.code, address: context.remoteAddress)
            return Response(status: .noContent)
        }
        router.post("/auth/2fa/recovery-codes") { request, context -> RecoveryCodes in
            let staff = try context.requireCompleteSession()
            let body = try await request.decodeJSON(Reauthentication.self, context: context)
            return RecoveryCodes(
                recoveryCodes: try await authenticator.regenerateRecoveryCodes(staff, password: body.password, code: body.code, address: context.remoteAddress))
        }
        router.get("/auth/sessions") { _, context -> ListResponse<SessionView> in
            let staff = try context.requireCompleteSession()
            let records = try await database.read { try await $0.sessions(ofAgent: staff.agentID) }
            return ListResponse(
                items: records.filter { $0.sessionStage == .complete || $0.tokenHash == staff.sessionHash }.map {
                    SessionView(
                        id: $0.id, userAgent: $0.userAgent, address: $0.address, createdAt: $0.createdAt, lastSeenAt: $0.lastSeenAt,
                        expiresAt: $0.expiresAt, current: $0.tokenHash == staff.sessionHash)
                })
        }
        router.delete("/auth/sessions/:id") { _, context -> Response in
            let staff = try context.requireCompleteSession()
            guard let id = context.parameters.get("id"), id.utf8.count <= 64, try await authenticator.revokeSession(id: id, of: staff.agentID) else {
                throw ConfidantError(.notFound, "No such session.")
            }
            await authenticator.audit.record(AuditEvent("auth.session.revoked", by: staff, address: context.remoteAddress, target: ("session", id)))
            return Response(status: .noContent)
        }
    }

    private func sessionResponse(for staff: StaffIdentity, expiresAt: Int64?) async throws -> SessionResponse {
        guard case .session(_, _, let stage, let csrf) = staff.credential,
            let (agent, departments, left) = try await database.read({ store -> (AgentRecord, [DepartmentID], Int)? in
                guard let agent = try await store.agent(id: staff.agentID) else { return nil }
                return (agent, try await store.departments(ofAgent: staff.agentID), try await store.unusedRecoveryCodes(agent: staff.agentID))
            })
        else { throw ConfidantError.unauthenticated }
        return SessionResponse(
            agent: AgentView(agent, departments: departments), stage: stage, csrfToken: csrf,
            permissions: Permission.allCases.filter(staff.allows), expiresAt: expiresAt, recoveryCodesLeft: agent.hasTwoFactor ? left : nil)
    }

    private func sessionResponse(_ issued: IssuedSession) async throws -> SessionResponse {
        let departments = try await database.read { try await $0.departments(ofAgent: issued.agent.agentID) }
        let permissions = issued.stage == .complete ? try await authenticator.policies.current().permissions(of: issued.agent.staffRole) : []
        return SessionResponse(
            agent: AgentView(issued.agent, departments: departments), stage: issued.stage, csrfToken: issued.csrfToken,
            permissions: Permission.allCases.filter(permissions.contains), expiresAt: issued.expiresAt)
    }

    private func respond(with issued: IssuedSession, request: Request, context: AppRequestContext) async throws -> Response {
        var response = try await sessionResponse(issued).response(from: request, context: context)
        response.setCookie(cookie.issue(issued.token, maxAge: sessionLifetime))
        return response
    }
}
