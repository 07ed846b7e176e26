/// WebSocket close codes Confidant sends itself (docs/protocol.md, "Close codes", also lists
/// those the WebSocket layer sends: 1000, 1007, 1009). 1xxx are RFC 6455; 44xx mirror the HTTP
/// status they resemble.
enum CloseCode {
    /// RFC 6455: unexpected server error.
    static let serverError: UInt16 = 1011
    /// RFC 6455: try again later; here, the client read too slowly and its queue overflowed.
    static let tryAgainLater: UInt16 = 1013
    /// The visitor token is invalid, or the staff session ended.
    static let unauthenticated: UInt16 = 4401
    /// The page's Origin may not use this site's widget.
    static let forbiddenOrigin: UInt16 = 4403
    /// The protocol version in `hello` is not supported.
    static let unsupportedProtocol: UInt16 = 4400
    /// No `hello` arrived in time.
    static let helloTimeout: UInt16 = 4408
}
