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
    /// The TCP peer's IP address.
    let peerAddress: String
    /// The client's IP address: the peer's, or the one a trusted proxy forwarded (set by
    /// ``ClientAddressMiddleware``).
    var remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        self.remoteAddress = peerAddress
    }

    /// Request bodies larger than this are refused with 413 before they are read whole.
    public var maxUploadSize: Int { Limits.maxRequestBodyBytes }

    /// JSON responses as the WebSocket frames write them (no `\/` escapes).
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    /// The fully signed-in staff member holding `permission`; throws `unauthenticated` or `forbidden`.
    func requireStaff(_ permission: Permission) throws(ConfidantError) -> StaffIdentity {
        guard let staff, staff.stage == .complete else { throw ConfidantError.unauthenticated }
        try staff.require(permission)
        return staff
    }

    /// The fully signed-in staff member of a browser session, whatever their role (for managing
    /// their own credentials; API tokens are refused).
    func requireCompleteSession() throws(ConfidantError) -> StaffIdentity {
        guard let staff, staff.stage == .complete, staff.sessionHash != nil else { throw ConfidantError.unauthenticated }
        return staff
    }

    /// The staff member of this session at whatever stage of sign-in (for the routes that move
    /// a sign-in forward).
    func requireSession() throws(ConfidantError) -> StaffIdentity {
        guard let staff, staff.sessionHash != nil else { throw ConfidantError.unauthenticated }
        return staff
    }
}
