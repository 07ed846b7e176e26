import ConfidantCore
import Foundation
import HTTPTypes
import Hummingbird

/// Sets ``AppRequestContext/remoteAddress`` to the client's address (see ``ClientAddressResolver``).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let resolver: ClientAddressResolver

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.remoteAddress = resolver.resolve(peer: context.peerAddress, forwardedFor: request.headers[values: .init("X-Forwarded-For")!])
        return try await next(request, context)
    }
}

/// Refuses the console's pages and files to addresses outside the staff networks of the
/// ``SecurityPolicy`` (the API and the agent socket check the member's role too, in
/// ``StaffAuthenticator``).
struct ConsoleNetworkMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let policies: SecurityPolicyStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/console"), try await !policies.current().allowsAnyStaff(from: context.remoteAddress) {
            throw StaffAuthenticator.networkRefused
        }
        return try await next(request, context)
    }
}

/// Resolves the session cookie, or an API token in `Authorization: Bearer`, into a
/// ``StaffIdentity`` on the context. A cookie that no longer names a session is ignored (the
/// routes that need staff refuse); an API token that does not check out is refused at once.
struct StaffSessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: StaffAuthenticator
    let cookie: SessionCookie

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization] {
            guard authorization.hasPrefix("Bearer "),
                let staff = try await authenticator.identity(forAPIToken: String(authorization.dropFirst(7)), address: context.remoteAddress)
            else { throw ConfidantError(.unauthenticated, "The API token is unknown, expired or revoked.") }
            context.staff = staff
        } else if let token = cookie.token(in: request) {
            context.sessionToken = token
            context.staff = try await authenticator.identity(forToken: token, address: context.remoteAddress)
        }
        return try await next(request, context)
    }
}

/// Deny by default: every route added after this middleware needs a signed-in staff member,
/// and a session still signing in (second factor, forced enrollment or password change) reaches
/// only the routes of its stage. (Which staff member may do what is checked by each route
/// through ``AccessPolicy``.)
struct RequireStaffMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let staff = context.staff else { throw ConfidantError.unauthenticated }
        if staff.stage != .complete, !staff.stage.allowedPaths.contains(request.uri.path) {
            throw ConfidantError(.forbidden, "Finish signing in first (\(staff.stage.rawValue.replacingOccurrences(of: "_", with: " "))).")
        }
        return try await next(request, context)
    }
}

/// Cross-site request forgery defence for state-changing requests (POST, PUT, PATCH, DELETE):
/// the `Origin` must be Confidant's own (and `Sec-Fetch-Site` same-origin where sent), and a
/// request that carries the session cookie must also carry the session's token in
/// `X-CSRF-Token`, compared in constant time. Sign-in is exempt from the token (there is no
/// session yet) but not from the origin check. Requests with an API token carry no cookie, so
/// a browser cannot be tricked into sending them.
struct SameOriginMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let origins: OriginPolicy
    static let tokenHeader = HTTPField.Name("X-CSRF-Token")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if ![.get, .head, .options].contains(request.method) {
            let site = request.headers[.init("Sec-Fetch-Site")!]
            guard origins.allowsStaff(origin: request.headers[.origin]), site == nil || site == "same-origin" || site == "none" else {
                throw ConfidantError(.crossOrigin, "Cross-origin requests may not change anything.")
            }
            if context.sessionToken != nil, request.uri.path != "/v1/auth/login",
                case .session(_, _, _, let expected)? = context.staff?.credential,
                !constantTimeEquals(request.headers[Self.tokenHeader] ?? "", expected)
            {
                throw ConfidantError(.csrfTokenInvalid, "The X-CSRF-Token header is missing or wrong; reload the page.")
            }
        }
        return try await next(request, context)
    }
}

/// The Content-Security-Policy values. Pages load scripts and styles only from Confidant's own
/// origin and contain nothing inline, so no `unsafe-inline` is ever needed.
enum ContentSecurityPolicy {
    /// For API responses and static files: nothing may load, nothing may frame.
    static let api = "default-src 'none'; frame-ancestors 'none'"

    /// For HTML pages; `frameAncestors` is `'none'` except for the widget frame. Violations are
    /// reported to ``CSPReportController``.
    static func page(frameAncestors: String) -> String {
        [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "font-src 'self'",
            "form-action 'self'", "base-uri 'none'", "object-src 'none'", "frame-ancestors \(frameAncestors)", "report-uri \(CSPReportController.path)",
        ].joined(separator: "; ")
    }

    /// Browser features no Confidant page uses, switched off for them and anything they embed.
    static let permissionsPolicy = [
        "accelerometer", "bluetooth", "camera", "display-capture", "geolocation", "gyroscope", "hid", "magnetometer", "microphone", "midi",
        "payment", "serial", "usb", "xr-spatial-tracking",
    ].map { "\($0)=()" }.joined(separator: ", ")
}

/// Headers every response carries. HTML pages get the page policy (unless the route set its
/// own, as the widget frame does); everything else gets the API policy. When Confidant is
/// reached over HTTPS (its public URL), browsers are told to use nothing else for two years (HSTS).
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Whether to send `Strict-Transport-Security`.
    let strictTransportSecurity: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.init("Permissions-Policy")!] = ContentSecurityPolicy.permissionsPolicy
        if strictTransportSecurity { response.headers[.strictTransportSecurity] = "max-age=63072000" }
        let isPage = response.headers[.contentType]?.hasPrefix("text/html") == true
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = isPage ? ContentSecurityPolicy.page(frameAncestors: "'none'") : ContentSecurityPolicy.api
            if isPage { response.headers[.init("X-Frame-Options")!] = "DENY" }
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        response.headers[.init("Cross-Origin-Opener-Policy")!] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if response.headers[.init("Cross-Origin-Resource-Policy")!] == nil {
            response.headers[.init("Cross-Origin-Resource-Policy")!] = "same-origin"
        }
        return response
    }
}

/// REST rate limits (``RateLimiter``), in two places of the middleware chain. Before any route,
/// `.anonymous` counts every `/v1/` request that carries no staff credential, and every request
/// to a public route, against its client address. After ``StaffSessionMiddleware``, `.staff`
/// counts requests that carry a credential against the staff member or API token, or against
/// the address when the credential turned out to be invalid.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    enum Phase {
        case anonymous
        case staff
    }

    let limiter: RateLimiter
    let phase: Phase
    /// Routes anyone may call, credential or not.
    static let publicPaths: Set<String> = ["/v1/visitor/sessions", "/v1/widget/config", "/v1/auth/login", CSPReportController.path]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/v1/") {
            let credential = request.headers[.authorization] != nil || request.headers[.cookie] != nil
            let isPublic = Self.publicPaths.contains(path)
            switch phase {
            case .anonymous where isPublic || !credential:
                try limiter.enforce(.restPerAddress, context.remoteAddress)
            case .staff where !isPublic && credential:
                switch context.staff?.credential {
                case .apiToken(let id)?: try limiter.enforce(.restPerApiToken, id)
                case .session?: try limiter.enforce(.restPerStaff, context.staff!.agentID.rawValue)
                case nil: try limiter.enforce(.restPerAddress, context.remoteAddress)
                }
            default:
                break
            }
        }
        return try await next(request, context)
    }
}
