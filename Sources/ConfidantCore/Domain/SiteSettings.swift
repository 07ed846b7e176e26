/// How a site's widget looks and behaves; edited on the admin pages, read by the widget frame.
/// Public by nature (any visitor's browser receives it): never put secrets here.
public struct SiteSettings: Codable, Sendable, Equatable {
    /// Where the chat button sits.
    public enum Position: String, Codable, Sendable, CaseIterable {
        case left
        case right
    }

    /// The widget's language; `auto` follows the visitor's browser.
    public enum Language: String, Codable, Sendable, CaseIterable {
        case auto
        case en
        case hu
        case es
    }

    /// The optional form before the first message.
    public struct PreChat: Codable, Sendable, Equatable {
        /// Show the form at all.
        public var enabled: Bool
        /// Ask for a name (optional for the visitor).
        public var askName: Bool
        /// Ask for an e-mail address (optional for the visitor).
        public var askEmail: Bool

        /// Creates pre-chat settings.
        public init(enabled: Bool = false, askName: Bool = true, askEmail: Bool = true) {
            self.enabled = enabled
            self.askName = askName
            self.askEmail = askEmail
        }
    }

    /// Consent before the first message. Each visitor's agreement is recorded with the version
    /// and text they were shown; changing ``version`` asks every visitor again.
    public struct Consent: Codable, Sendable, Equatable {
        /// Visitors must agree before they can start a conversation.
        public var required: Bool
        /// The site's privacy policy, linked from the consent step.
        public var privacyPolicyUrl: String?
        /// The site's own consent text; nil shows the widget's translated default.
        public var text: String?
        /// The version of text and policy (1–32 letters, digits, `.`, `-`, `_`).
        public var version: String

        /// Creates consent settings.
        public init(required: Bool = false, privacyPolicyUrl: String? = nil, text: String? = nil, version: String = "1") {
            self.required = required
            self.privacyPolicyUrl = privacyPolicyUrl
            self.text = text
            self.version = version
        }

        enum CodingKeys: String, CodingKey {
            case required, privacyPolicyUrl, text, version
        }

        /// Decodes consent settings; settings saved before versions existed are version "1".
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
            privacyPolicyUrl = try c.decodeIfPresent(String.self, forKey: .privacyPolicyUrl)
            text = try c.decodeIfPresent(String.self, forKey: .text)
            version = try c.decodeIfPresent(String.self, forKey: .version) ?? "1"
        }
    }

    /// A proactive invitation: after `seconds` on a page whose URL matches `urlPattern`
    /// (`*` matches any run of characters, nothing else is special; the widget loader matches it
    /// without regular expressions, in linear time), show `message`.
    public struct ProactiveRule: Codable, Sendable, Equatable {
        public var seconds: Int
        public var urlPattern: String
        public var message: String

        /// Creates a rule.
        public init(seconds: Int, urlPattern: String, message: String) {
            self.seconds = seconds
            self.urlPattern = urlPattern
            self.message = message
        }
    }

    /// The accent colour, `#rrggbb`.
    public var color: String
    /// Where the button sits.
    public var position: Position
    /// A greeting shown before the first message; nil uses the translated default.
    public var greeting: String?
    /// The widget's language.
    public var language: Language
    /// The pre-chat form.
    public var preChat: PreChat
    /// The consent step.
    public var consent: Consent
    /// Proactive invitations, checked in order; the first that matches wins.
    public var proactive: [ProactiveRule]
    /// The site's own patterns of something to hide in messages (see ``RedactionPattern``), on
    /// top of card numbers, CVVs, SSNs and IBANs.
    public var redactionPatterns: [String]
    /// Days after closing that a conversation is deleted, with a visitor left with none
    /// (erased, their data key destroyed); nil keeps them until erased by hand.
    public var retentionDays: Int?
    /// Whether a visitor may delete a conversation of theirs, once it is closed, from the widget.
    public var visitorsMayDeleteConversations: Bool

    /// The defaults of a new site.
    public init(
        color: String = "#2563eb", position: Position = .right, greeting: String? = nil, language: Language = .auto, preChat: PreChat = .init(),
        consent: Consent = .init(), proactive: [ProactiveRule] = [], redactionPatterns: [String] = [],
        retentionDays: Int? = nil, visitorsMayDeleteConversations: Bool = false
    ) {
        self.color = color
        self.position = position
        self.greeting = greeting
        self.language = language
        self.preChat = preChat
        self.consent = consent
        self.proactive = proactive
        self.redactionPatterns = redactionPatterns
        self.retentionDays = retentionDays
        self.visitorsMayDeleteConversations = visitorsMayDeleteConversations
    }

    enum CodingKeys: String, CodingKey {
        case color, position, greeting, language, preChat, consent, proactive, redactionPatterns, retentionDays, visitorsMayDeleteConversations
    }

    /// Decodes settings; missing fields keep their defaults, so a partial object updates only
    /// what it names.
    public init(from decoder: any Decoder) throws {
        let defaults = SiteSettings()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        color = try c.decodeIfPresent(String.self, forKey: .color) ?? defaults.color
        position = try c.decodeIfPresent(Position.self, forKey: .position) ?? defaults.position
        greeting = try c.decodeIfPresent(String.self, forKey: .greeting)
        language = try c.decodeIfPresent(Language.self, forKey: .language) ?? defaults.language
        preChat = try c.decodeIfPresent(PreChat.self, forKey: .preChat) ?? defaults.preChat
        consent = try c.decodeIfPresent(Consent.self, forKey: .consent) ?? defaults.consent
        proactive = try c.decodeIfPresent([ProactiveRule].self, forKey: .proactive) ?? defaults.proactive
        redactionPatterns = try c.decodeIfPresent([String].self, forKey: .redactionPatterns) ?? defaults.redactionPatterns
        retentionDays = try c.decodeIfPresent(Int.self, forKey: .retentionDays)
        visitorsMayDeleteConversations = try c.decodeIfPresent(Bool.self, forKey: .visitorsMayDeleteConversations) ?? false
    }

    /// The redactor for this site's messages.
    public var redactor: Redactor {
        Redactor(patterns: redactionPatterns.compactMap(RedactionPattern.init))
    }

    /// Most proactive rules per site.
    public static let maxProactiveRules = 10

    /// Checks every field; returns the settings with text trimmed.
    public func validated() throws(ConfidantError) -> SiteSettings {
        var copy = self
        guard color.utf8.count == 7, color.first == "#", color.dropFirst().allSatisfy(\.isHexDigit) else {
            throw ConfidantError(.invalidRequest, "The colour must look like #2563eb.")
        }
        copy.color = color.lowercased()
        copy.greeting = try greeting.map { (g) throws(ConfidantError) in try TextRules.messageBody(g, maxCharacters: 200, field: "greeting") }
        if let url = consent.privacyPolicyUrl {
            guard url.utf8.count <= Limits.maxPageURLLength, url.hasPrefix("https://") || url.hasPrefix("http://"), !url.contains(where: \.isWhitespace) else {
                throw ConfidantError(.invalidRequest, "The privacy policy link must be an http(s) URL.")
            }
        }
        if consent.required && consent.privacyPolicyUrl == nil {
            throw ConfidantError(.invalidRequest, "A site that requires consent needs a privacy policy link.")
        }
        copy.consent.text = try consent.text.map { (text) throws(ConfidantError) in
            try TextRules.messageBody(text, maxCharacters: 1000, field: "consent.text")
        }
        guard (1...32).contains(consent.version.utf8.count),
            consent.version.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0)
            })
        else {
            throw ConfidantError(.invalidRequest, "consent.version must be 1–32 letters, digits, '.', '-' or '_'.")
        }
        guard proactive.count <= Self.maxProactiveRules else {
            throw ConfidantError(.invalidRequest, "At most \(Self.maxProactiveRules) proactive rules.")
        }
        for (index, rule) in proactive.enumerated() {
            guard (1...3600).contains(rule.seconds) else { throw ConfidantError(.invalidRequest, "Proactive rule \(index + 1): seconds must be 1 to 3600.") }
            guard (1...200).contains(rule.urlPattern.count), !rule.urlPattern.contains(where: \.isWhitespace) else {
                throw ConfidantError(.invalidRequest, "Proactive rule \(index + 1): the URL pattern must be 1–200 characters without spaces.")
            }
            copy.proactive[index].message = try TextRules.messageBody(rule.message, maxCharacters: 200, field: "message")
        }
        if let retentionDays, !(1...3650).contains(retentionDays) {
            throw ConfidantError(.invalidRequest, "retentionDays must be 1 to 3650 (or left out to keep conversations).")
        }
        guard redactionPatterns.count <= RedactionPattern.maxCount else {
            throw ConfidantError(.invalidRequest, "At most \(RedactionPattern.maxCount) redaction patterns.")
        }
        for pattern in redactionPatterns where RedactionPattern(pattern) == nil {
            throw ConfidantError(
                .invalidRequest,
                "'\(pattern.prefix(70))' is not a redaction pattern: 4–64 characters without spaces, with at least 4 of # (digit), @ (letter) and ? (either).")
        }
        return copy
    }
}
