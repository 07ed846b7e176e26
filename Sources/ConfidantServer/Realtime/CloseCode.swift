/// WebSocket close codes Confidant uses (docs/protocol.md, "Close codes"). 1xxx are RFC 6455;
/// 44xx mirror the HTTP status they resemble.
enum CloseCode {
    /// RFC 6455: normal closure.
    static let normal: UInt16 = 1000
    /// RFC 6455: invalid UTF-8 in a text frame (sent by the WebSocket layer).
    static let invalidData: UInt16 = 1007
    /// RFC 6455: a message larger than the limit (sent by the WebSocket layer).
    static let tooLarge: UInt16 = 1009
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
