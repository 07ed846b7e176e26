/// How visitors' personal fields (name, e-mail, the verified identity) appear to a reader.
/// Staff without the `seePersonalData` permission get ``masked``: enough to tell two visitors
/// apart, not enough to identify one.
public enum PersonalDataView: Sendable, Equatable {
    /// As stored (staff with `seePersonalData`).
    case shown
    /// Initials and the e-mail's top-level domain only (staff without `seePersonalData`).
    case masked

    /// `value` as this view shows it.
    public func name(_ value: String) -> String {
        self == .shown ? value : PersonalDataMask.name(value)
    }

    /// `value` as this view shows it.
    public func email(_ value: String) -> String {
        self == .shown ? value : PersonalDataMask.email(value)
    }
}

/// The masks themselves; pure functions, tested in `PersonalDataMaskTests`.
public enum PersonalDataMask {
    /// The mark that stands for hidden characters.
    public static let hidden = "•••"

    /// Each word's first letter: "Jane Q. Doe" → "J••• Q••• D•••".
    public static func name(_ value: String) -> String {
        let words = value.split(whereSeparator: \.isWhitespace)
        guard !words.isEmpty else { return hidden }
        return words.map { "\($0.first!)\(hidden)" }.joined(separator: " ")
    }

    /// The local part's first letter and the top-level domain: "jane.doe@example.com" →
    /// "j•••@•••.com". Anything that is not an address is masked whole.
    public static func email(_ value: String) -> String {
        guard let at = value.lastIndex(of: "@"), let first = value.first, at != value.startIndex else { return hidden }
        let domain = value[value.index(after: at)...]
        let topLevel = domain.lastIndex(of: ".").map { String(domain[$0...]) } ?? ""
        return "\(first)\(hidden)@\(hidden)\(topLevel)"
    }
}
