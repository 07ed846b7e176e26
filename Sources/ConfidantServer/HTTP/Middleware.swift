import ConfidantCore
import HTTPTypes
import Hummingbird

/// Resolves the session cookie into a ``StaffIdentity`` on the context. It never rejects: routes
/// that need staff sit behind ``RequireStaffMiddleware``.
struct StaffSessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: StaffAuthenticator
    let cookie: SessionCookie

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = cookie.token(in: request) {
            context.sessionToken = token
            context.staff = try await authenticator.identity(forToken: token)
        }
        return try await next(request, context)
    }
}

/// Deny by default: every route added after this middleware needs a signed-in staff member.
/// (Which staff member may do what is checked by each route through ``AccessPolicy``.)
struct RequireStaffMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.staff != nil else { throw ConfidantError.unauthenticated }
        return try await next(request, context)
    }
}

/// Refuses state-changing requests from other origins (CSRF): a browser always sends `Origin`
/// on such requests, and `Sec-Fetch-Site` where supported. Non-browser clients send neither.
struct SameOriginMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let origins: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if ![.get, .head, .options].contains(request.method) {
            let site = request.headers[.init("Sec-Fetch-Site")!]
            guard origins.allowsStaff(origin: request.headers[.origin]), site == nil || site == "same-origin" || site == "none" else {
                throw ConfidantError(.crossOrigin, "Cross-origin requests may not change anything.")
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

    /// For HTML pages; `frameAncestors` is `'none'` except for the widget frame.
    static func page(frameAncestors: String) -> String {
        [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "font-src 'self'",
            "form-action 'self'", "base-uri 'none'", "object-src 'none'", "frame-ancestors \(frameAncestors)",
        ].joined(separator: "; ")
    }
}

/// Headers every response carries. HTML pages get the page policy (unless the route set its
/// own, as the widget frame does); everything else gets the API policy. TLS and HSTS come with
/// issue #6.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
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
