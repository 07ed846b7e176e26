import ConfidantCore
public import Foundation
public import Hummingbird
import NIOCore

/// The request context of every HTTP route.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The signed-in staff member, set by ``StaffSessionMiddleware`` when the session is valid.
    var staff: StaffIdentity?
    /// The session token presented, if any (for sign-out).
    var sessionToken: String?
    /// The peer's IP address.
    let remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Request bodies larger than this are refused with 413 before they are read whole.
    public var maxUploadSize: Int { Limits.maxRequestBodyBytes }

    /// JSON responses as the WebSocket frames write them (no `\/` escapes).
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    /// The signed-in staff member holding `permission`; throws `unauthenticated` or `forbidden`.
    func requireStaff(_ permission: Permission) throws(ConfidantError) -> StaffIdentity {
        guard let staff else { throw ConfidantError.unauthenticated }
        try staff.require(permission)
        return staff
    }
}
