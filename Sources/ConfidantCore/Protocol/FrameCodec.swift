import Foundation

/// Turns wire text into validated client frames and server frames into wire text. Every inbound
/// frame passes through ``decodeClientFrame(_:)``: nothing reaches the chat service unchecked.
public enum FrameCodec {
    /// A decoding failure together with the frame's `ref`, when it could be read.
    public struct Failure: Error, Sendable {
        /// The error to send back.
        public let error: ConfidantError
        /// The `ref` of the offending frame, if the frame was an object with a usable `ref`.
        public let ref: String?
    }

    private struct Header: Decodable {
        let type: String?
        let ref: String?
    }

    /// Decodes and validates one client frame.
    public static func decodeClientFrame(_ text: String) throws(Failure) -> ClientEnvelope {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch let error as DecodingError {
            if case .typeMismatch(_, let context) = error, context.codingPath.isEmpty {
                throw Failure(error: ConfidantError(.invalidFrame, "A frame must be a JSON object."), ref: nil)
            }
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw Failure(error: ConfidantError(.invalidJSON, "The frame is not valid JSON."), ref: nil)
            }
            throw Failure(error: describe(error), ref: nil)
        } catch {
            throw Failure(error: ConfidantError(.invalidJSON, "The frame is not valid JSON."), ref: nil)
        }
        var ref: String?
        if let rawRef = header.ref {
            do { ref = try TextRules.clientToken(rawRef, field: "ref") } catch { throw Failure(error: error, ref: nil) }
        }
        guard let type = header.type else {
            throw Failure(error: ConfidantError(.invalidFrame, "Missing field 'type'."), ref: ref)
        }
        let envelope: ClientEnvelope
        do {
            envelope = try decoder.decode(ClientEnvelope.self, from: data)
        } catch let unknown as UnknownFrameType {
            throw Failure(error: ConfidantError(.unknownFrameType, "Unknown frame type '\(printable(unknown.type))'."), ref: ref)
        } catch let error as DecodingError {
            throw Failure(error: describe(error), ref: ref)
        } catch {
            throw Failure(error: ConfidantError(.invalidFrame, "The \(type) frame is not valid."), ref: ref)
        }
        do {
            return ClientEnvelope(ref: ref, try validate(envelope.frame))
        } catch {
            throw Failure(error: error, ref: ref)
        }
    }

    /// Applies the semantic rules the JSON shape cannot express (lengths, ranges, exclusivity).
    public static func validate(_ frame: ClientFrame) throws(ConfidantError) -> ClientFrame {
        switch frame {
        case .hello(let version, let token, let resume):
            guard resume.count <= Limits.maxResumeEntries else {
                throw ConfidantError(.invalidFrame, "At most \(Limits.maxResumeEntries) conversations can be resumed at once.")
            }
            guard resume.allSatisfy({ $0.afterSeq >= 0 }) else { throw ConfidantError(.invalidFrame, "afterSeq must not be negative.") }
            if let token, token.utf8.count > 1024 { throw ConfidantError(.invalidFrame, "The token is too long.") }
            return .hello(protocolVersion: version, token: token, resume: resume)
        case .openConversation(let departmentId, let name, let email, let pageUrl, let language, let consent, let form):
            try validate(form)
            let name = try name.map { (n) throws(ConfidantError) in try TextRules.singleLine(n, field: "name") }
            let email = try email.map { (e) throws(ConfidantError) in try TextRules.email(e) }
            if let pageUrl {
                guard pageUrl.utf8.count <= Limits.maxPageURLLength else { throw ConfidantError(.invalidFrame, "The pageUrl is too long.") }
                _ = try TextRules.singleLine(pageUrl, field: "pageUrl", maxCharacters: Limits.maxPageURLLength)
            }
            if let language {
                guard (2...16).contains(language.utf8.count),
                    language.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
                else { throw ConfidantError(.invalidFrame, "The language must be a tag such as en or hu-HU.") }
            }
            return .openConversation(
                departmentId: departmentId, name: name, email: email, pageUrl: pageUrl, language: language, consent: consent, form: form)
        case .sendMessage(let conversationId, let clientId, let body, let visibility):
            return .sendMessage(
                conversationId: conversationId,
                clientId: try TextRules.clientToken(clientId, field: "clientId"),
                body: try TextRules.messageBody(body),
                visibility: visibility
            )
        case .read(_, let seq), .sync(_, let seq):
            guard seq >= 0 else { throw ConfidantError(.invalidFrame, "Sequence numbers are never negative.") }
            return frame
        case .transfer(_, let toAgentId, let toDepartmentId):
            guard (toAgentId == nil) != (toDepartmentId == nil) else {
                throw ConfidantError(.invalidFrame, "Give exactly one of toAgentId and toDepartmentId.")
            }
            return frame
        case .rate(let conversationId, let score, let comment):
            guard (1...5).contains(score) else { throw ConfidantError(.invalidFrame, "The score must be 1 to 5.") }
            let comment = try comment.map { (c) throws(ConfidantError) in
                try TextRules.messageBody(c, maxCharacters: Limits.maxCommentCharacters, field: "comment")
            }
            return .rate(conversationId: conversationId, score: score, comment: comment)
        case .leaveOfflineMessage(let clientId, let departmentId, let name, let email, let body, let form):
            try validate(form)
            return .leaveOfflineMessage(
                clientId: try TextRules.clientToken(clientId, field: "clientId"),
                departmentId: departmentId,
                name: try name.map { (n) throws(ConfidantError) in try TextRules.singleLine(n, field: "name") },
                email: try email.map { (e) throws(ConfidantError) in try TextRules.email(e) },
                body: try TextRules.messageBody(body),
                form: form
            )
        case .ping, .typing, .setAvailability, .accept, .close, .watch, .unwatch, .withdrawConsent, .deleteConversation:
            return frame
        }
    }

    private static func validate(_ form: FormSignals?) throws(ConfidantError) {
        guard let form else { return }
        if let honeypot = form.honeypot, honeypot.utf8.count > 1000 { throw ConfidantError(.invalidFrame, "form.honeypot is too long.") }
        if let fillMs = form.fillMs, fillMs < 0 { throw ConfidantError(.invalidFrame, "form.fillMs must not be negative.") }
    }

    /// Encodes a server frame as compact JSON text.
    public static func encode(_ envelope: ServerEnvelope) -> String {
        // Encoding our own value types cannot fail; a failure here is a programming error.
        let data = try! encoder.encode(envelope)
        return String(decoding: data, as: UTF8.self)
    }

    /// Encodes a client frame (used by test clients and the load tool).
    public static func encode(_ envelope: ClientEnvelope) -> String {
        let data = try! encoder.encode(envelope)
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a server frame (used by test clients and the load tool).
    public static func decodeServerFrame(_ text: String) throws -> ServerEnvelope {
        try JSONDecoder().decode(ServerEnvelope.self, from: Data(text.utf8))
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A field-naming message for a decoding failure.
    public static func describe(_ error: DecodingError) -> ConfidantError {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let full = path(context.codingPath + [key])
            return ConfidantError(.invalidFrame, "Missing field '\(full)'.")
        case .valueNotFound(_, let context):
            return ConfidantError(.invalidFrame, "Field '\(path(context.codingPath))' must not be null.")
        case .typeMismatch(_, let context):
            return ConfidantError(.invalidFrame, "Field '\(path(context.codingPath))' has the wrong type.")
        case .dataCorrupted(let context):
            return ConfidantError(.invalidFrame, "Field '\(path(context.codingPath))' is not valid.")
        @unknown default:
            return ConfidantError(.invalidFrame, "The frame is not valid.")
        }
    }

    /// A type name safe to echo: at most 40 token characters.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.isASCII && TextRules.isTokenByte(UInt8($0.value)) }.prefix(40)))
    }
}
