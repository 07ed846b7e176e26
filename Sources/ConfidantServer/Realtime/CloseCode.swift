/// WebSocket close codes Confidant sends (docs/protocol.md, "Close codes"). 1xxx are RFC 6455;
/// 44xx mirror the HTTP status they resemble.
enum CloseCode {
    /// RFC 6455: going away; the server is shutting down.
    static let goingAway: UInt16 = 1001
    /// RFC 6455: protocol error (malformed fragments).
    static let protocolError: UInt16 = 1002
    /// RFC 6455: a text message was not valid UTF-8.
    static let invalidText: UInt16 = 1007
    /// RFC 6455: a message was larger than the limit (after reassembling fragments).
    static let messageTooLarge: UInt16 = 1009
    /// RFC 6455: policy violation; here, a socket that kept sending over its rate limits, or one
    /// visitor with too many sockets.
    static let policyViolation: UInt16 = 1008
    /// RFC 6455: unexpected server error.
    static let serverError: UInt16 = 1011
    /// RFC 6455: try again later; here, the client read too slowly and its queue overflowed.
    static let tryAgainLater: UInt16 = 1013
    /// The visitor token is invalid, or the staff session ended.
    static let unauthenticated: UInt16 = 4401
    /// The staff member's role or departments changed, or their session was renewed (a new id
    /// after a password change or 2FA enrollment): reconnect, and get the new ones.
    static let permissionsChanged: UInt16 = 4409
    /// Staff access is not allowed from this network any more.
    static let networkNotAllowed: UInt16 = 4404
    /// The page's Origin may not use this site's widget.
    static let forbiddenOrigin: UInt16 = 4403
    /// The protocol version in `hello` is not supported.
    static let unsupportedProtocol: UInt16 = 4400
    /// No `hello` arrived in time.
    static let helloTimeout: UInt16 = 4408
}
