import ConfidantCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A ``ConfidantError`` as an HTTP response: a status and `{"error":{"code","message"}}`.
struct APIError: HTTPResponseError {
    let error: ConfidantError
    var headers: HTTPFields = [:]

    var status: HTTPResponse.Status {
        switch error.code {
        case .invalidJSON, .invalidFrame, .unknownFrameType, .binaryNotSupported, .unsupportedProtocol, .helloRequired, .invalidRequest,
            .messageTooLong, .emptyMessage, .consentRequired, .weakPassword, .duplicateMessage, .tooManyLinks, .secretRequested:
            .badRequest
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .methodNotAllowed: .methodNotAllowed
        case .unauthenticated, .invalidCredentials, .invalidIdentityToken: .unauthorized
        case .forbidden, .crossOrigin, .csrfTokenInvalid, .networkNotAllowed, .identityRequired, .chatUnavailable: .forbidden
        case .tooManyAttempts, .rateLimited, .tooManyConnections: .tooManyRequests
        case .notFound, .conversationNotFound: .notFound
        case .invalidState, .conflict, .clientIDReused, .alreadyRated, .noAgentsOnline, .agentUnavailable, .limitReached, .selfLockout: .conflict
        case .internalError: .internalServerError
        case .unavailable: .serviceUnavailable
        }
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            let code: ErrorCode
            let message: String
        }
        let error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        // Sorted keys: the same error is the same bytes every time (sign-in failures must not
        // differ by so much as key order).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Body(error: .init(code: error.code, message: error.message)))
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error a route throws into a JSON error response with a stable code: domain
/// errors keep theirs, framework errors map by status, anything else is logged and becomes a
/// bare `internal_error` (never a stack trace or a message body).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ConfidantError {
            return try APIError(error: error).response(from: request, context: context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try APIError(error: Self.translate(error.status)).response(from: request, context: context)
        } catch {
            context.logger.error("Request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return try APIError(error: ConfidantError(.internalError, "The server failed; nothing was changed.")).response(from: request, context: context)
        }
    }

    static func translate(_ status: HTTPResponse.Status) -> ConfidantError {
        switch status {
        case .notFound: ConfidantError(.notFound, "No such resource.")
        case .methodNotAllowed: ConfidantError(.methodNotAllowed, "This method is not allowed here.")
        case .contentTooLarge: ConfidantError(.payloadTooLarge, "The request body is larger than \(Limits.maxRequestBodyBytes) bytes.")
        case .unauthorized: ConfidantError.unauthenticated
        case .forbidden: ConfidantError.forbidden
        case .badRequest: ConfidantError(.invalidRequest, "The request is not valid.")
        default: ConfidantError(.internalError, "The server failed; nothing was changed.")
        }
    }
}

extension Request {
    /// Decodes a JSON body into `T`, with errors that name the offending field. A body labelled
    /// with any other media type than `accepting` is refused unread (`unsupported_media_type`):
    /// the one schema-validation entry point for REST bodies does not guess at formats.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext, accepting mediaTypes: Set<String> = ["application/json"]) async throws -> T {
        let mediaType = headers[.contentType].map { $0.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let mediaType, mediaTypes.contains(mediaType) else {
            throw ConfidantError(
                .unsupportedMediaType, "The body must be \(mediaTypes.sorted().joined(separator: " or ")), sent with a Content-Type saying so.")
        }
        var request = self
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw ConfidantError(.payloadTooLarge, "The request body is larger than \(context.maxUploadSize) bytes.")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw ConfidantError(.invalidJSON, "The request body is not valid JSON.")
            }
            throw ConfidantError(.invalidRequest, FrameCodec.describe(error).message)
        }
    }

    /// A query parameter parsed as `T`; throws `invalid_request` when present but malformed.
    func query<T>(_ name: String, _ parse: (String) -> T?) throws(ConfidantError) -> T? {
        guard let text = uri.queryParameters[Substring(name)].map(String.init) else { return nil }
        guard let value = parse(text) else { throw ConfidantError(.invalidRequest, "The query parameter '\(name)' is not valid.") }
        return value
    }
}

extension RequestContext {
    /// A path parameter parsed as an id; an unparseable id is reported as not found.
    func id<Tag>(_ name: String, as type: Identifier<Tag>.Type, notFound: ConfidantError = ConfidantError(.notFound, "No such resource."))
        throws(ConfidantError) -> Identifier<Tag>
    {
        guard let text = parameters.get(name), let id = Identifier<Tag>(text) else { throw notFound }
        return id
    }
}
