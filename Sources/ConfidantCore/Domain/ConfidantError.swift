/// A stable, machine-readable error code. The raw values are part of the public protocol and
/// REST API (see docs/protocol.md): never rename one, only add.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    // Input
    case invalidJSON = "invalid_json"
    case invalidFrame = "invalid_frame"
    case unknownFrameType = "unknown_frame_type"
    case binaryNotSupported = "binary_not_supported"
    case unsupportedProtocol = "unsupported_protocol"
    case helloRequired = "hello_required"
    case invalidRequest = "invalid_request"
    case payloadTooLarge = "payload_too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case methodNotAllowed = "method_not_allowed"
    case messageTooLong = "message_too_long"
    case emptyMessage = "empty_message"
    case consentRequired = "consent_required"
    case weakPassword = "weak_password"
    // Identity and access
    case unauthenticated = "unauthenticated"
    case invalidCredentials = "invalid_credentials"
    case forbidden = "forbidden"
    case crossOrigin = "cross_origin"
    case csrfTokenInvalid = "csrf_token_invalid"
    case tooManyAttempts = "too_many_attempts"
    case rateLimited = "rate_limited"
    case tooManyConnections = "too_many_connections"
    case chatUnavailable = "chat_unavailable"
    case duplicateMessage = "duplicate_message"
    case tooManyLinks = "too_many_links"
    case secretRequested = "secret_requested"
    case networkNotAllowed = "network_not_allowed"
    case identityRequired = "identity_required"
    case invalidIdentityToken = "invalid_identity_token"
    // Objects and state
    case notFound = "not_found"
    case conversationNotFound = "conversation_not_found"
    case invalidState = "invalid_state"
    case conflict = "conflict"
    case selfLockout = "self_lockout"
    case clientIDReused = "client_id_reused"
    case alreadyRated = "already_rated"
    // Routing
    case noAgentsOnline = "no_agents_online"
    case agentUnavailable = "agent_unavailable"
    case limitReached = "limit_reached"
    // Server
    case internalError = "internal_error"
    case unavailable = "unavailable"
}

/// An error that reaches a client: a stable ``ErrorCode`` plus a human-readable message.
/// Messages never contain secrets, message bodies or stack traces.
public struct ConfidantError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stable code a client can branch on.
    public let code: ErrorCode
    /// A sentence for humans.
    public let message: String

    /// Creates an error with a code and a human-readable message.
    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The error for any id the caller may not see, whether or not it exists (no existence oracle).
    public static let conversationNotFound = ConfidantError(.conversationNotFound, "No such conversation, or you may not access it.")
    /// The error for a missing or expired identity.
    public static let unauthenticated = ConfidantError(.unauthenticated, "Sign in first.")
    /// The error for an action the caller's role does not allow.
    public static let forbidden = ConfidantError(.forbidden, "Your role does not allow this action.")
}
