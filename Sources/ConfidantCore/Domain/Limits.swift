/// Documented input limits (docs/protocol.md, "Limits"). Values that operators may tune live in
/// the server configuration; these are protocol constants every client can rely on.
public enum Limits {
    /// Largest WebSocket message (after reassembling fragments), in bytes. Larger closes with 1009.
    public static let maxFrameBytes = 32 * 1024
    /// Largest REST request body, in bytes. Larger answers 413 `payload_too_large`.
    public static let maxRequestBodyBytes = 64 * 1024
    /// Longest message body, in characters (extended grapheme clusters).
    public static let maxBodyCharacters = 4000
    /// Longest rating comment, in characters.
    public static let maxCommentCharacters = 1000
    /// Longest client-generated message id and frame `ref`.
    public static let maxClientIDLength = 64
    /// Longest display name or visitor name.
    public static let maxNameCharacters = 100
    /// Longest e-mail address.
    public static let maxEmailLength = 254
    /// Longest page URL a visitor may report.
    public static let maxPageURLLength = 2048
    /// Most conversations one `hello` may ask to resume.
    public static let maxResumeEntries = 50
    /// Largest page of a REST list.
    public static let maxPageSize = 200
}

/// Checks on user-supplied text shared by the WebSocket protocol and the REST API.
public enum TextRules {
    /// Validates a message body: not blank, at most `maxCharacters`, no control characters
    /// other than tab, line feed and carriage return.
    public static func messageBody(_ body: String, maxCharacters: Int = Limits.maxBodyCharacters, field: String = "body") throws(ConfidantError) -> String {
        guard body.contains(where: { !$0.isWhitespace }) else {
            throw ConfidantError(.emptyMessage, "The \(field) is empty.")
        }
        guard body.count <= maxCharacters else {
            throw ConfidantError(.messageTooLong, "The \(field) is longer than \(maxCharacters) characters.")
        }
        try plainText(body, field: field, allowNewlines: true)
        return body
    }

    /// Validates single-line text such as a name: at most `maxCharacters` Unicode code points as
    /// sent (the unit JSON Schema's `maxLength` counts, so docs/openapi.yaml states it exactly),
    /// not blank, no control characters. Returns it without leading and trailing whitespace.
    public static func singleLine(_ text: String, field: String, maxCharacters: Int = Limits.maxNameCharacters) throws(ConfidantError) -> String {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ConfidantError(.invalidRequest, "The \(field) is empty.") }
        guard text.unicodeScalars.count <= maxCharacters else {
            throw ConfidantError(.invalidRequest, "The \(field) is longer than \(maxCharacters) characters.")
        }
        try plainText(trimmed, field: field, allowNewlines: false)
        return trimmed
    }

    /// Validates a client-chosen identifier (message client id, frame ref): 1–64 characters of
    /// letters, digits and `-_.:`.
    public static func clientToken(_ text: String, field: String) throws(ConfidantError) -> String {
        guard (1...Limits.maxClientIDLength).contains(text.utf8.count),
            text.utf8.allSatisfy({ isTokenByte($0) })
        else {
            throw ConfidantError(.invalidFrame, "The \(field) must be 1–\(Limits.maxClientIDLength) characters of letters, digits and -_.:")
        }
        return text
    }

    /// Validates and normalizes an e-mail address (lowercased; one `@`, no spaces).
    public static func email(_ text: String) throws(ConfidantError) -> String {
        let email = text.trimmingWhitespace().lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= Limits.maxEmailLength, parts.count == 2, !parts[0].isEmpty,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !email.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
        else {
            throw ConfidantError(.invalidRequest, "The email address is not valid.")
        }
        return email
    }

    static func plainText(_ text: String, field: String, allowNewlines: Bool) throws(ConfidantError) {
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let allowed = allowNewlines && (value == 0x09 || value == 0x0A || value == 0x0D)
            if (value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value)) && !allowed {
                throw ConfidantError(.invalidRequest, "The \(field) contains control characters.")
            }
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"):
            true
        default:
            false
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines.
    public func trimmingWhitespace() -> String {
        var view = self[...]
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
