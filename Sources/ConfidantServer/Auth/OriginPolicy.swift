import ConfidantCore
import Foundation

/// The one place that decides which web origins may talk to Confidant.
///
/// - Staff endpoints (cookie-authenticated) accept only Confidant's own public origin, which
///   stops cross-site request forgery and cross-site WebSocket hijacking.
/// - Visitor endpoints accept Confidant's own origin (the widget frame) and the site's allowed
///   origins. A request without an Origin header comes from a non-browser client, which cannot
///   carry a victim's cookie or run on a victim's page, so it is allowed.
struct OriginPolicy: Sendable {
    /// Confidant's own origin, from the public URL.
    let publicOrigin: String
    let database: any Database

    /// Whether a staff request or handshake with this Origin header may proceed.
    func allowsStaff(origin: String?) -> Bool {
        guard let origin else { return true }
        return Self.normalize(origin) == publicOrigin
    }

    /// Whether a visitor request or socket for `site` with this Origin header may proceed.
    func allowsVisitor(origin: String?, site: SiteID) async throws -> Bool {
        guard origin != nil else { return true }
        guard let record = try await database.read({ try await $0.site(id: site) }) else { return false }
        return allowsVisitor(origin: origin, site: record)
    }

    /// Whether `origin` is allowed for `site` (a record already loaded).
    func allowsVisitor(origin: String?, site: SiteRecord) -> Bool {
        guard let origin else { return true }
        guard let normalized = Self.normalize(origin) else { return false }
        return normalized == publicOrigin || site.origins.contains(normalized)
    }

    /// `scheme://host[:port]` in lowercase without a default port, or nil if `text` is not an
    /// http(s) origin (a path, query, user info or other scheme makes it invalid).
    static func normalize(_ text: String) -> String? {
        guard let components = URLComponents(string: text.trimmingWhitespace()), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
            components.path.isEmpty || components.path == "/"
        else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        if let port = components.port, port != defaultPort { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }
}
