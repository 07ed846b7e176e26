import Foundation
import Hummingbird

/// The staff session cookie. HttpOnly and SameSite=Strict always; over HTTPS it is also Secure
/// and carries the `__Host-` prefix (no Domain, Path=/), so no other subdomain can set it.
struct SessionCookie: Sendable {
    /// Whether Confidant is served over HTTPS (from the public URL).
    let secure: Bool

    /// The cookie name in use.
    var name: String { secure ? "__Host-confidant_session" : "confidant_session" }

    /// The token in the request's cookie, if any.
    func token(in request: Request) -> String? {
        request.cookies[name]?.value
    }

    /// The token in these `Cookie` header values, if any (for the WebSocket handshake).
    func token(inCookieHeaders headers: [String]) -> String? {
        Cookies(from: headers)[name]?.value
    }

    /// A cookie that sets the session.
    func issue(_ token: String, maxAge: Duration) -> Cookie {
        Cookie(name: name, value: token, maxAge: Int(maxAge.components.seconds), path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    /// A cookie that clears the session.
    func clear() -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}
