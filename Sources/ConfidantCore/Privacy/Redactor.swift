/// What a redaction hid.
public enum RedactionKind: String, Sendable, Codable, CaseIterable {
    /// A payment card number (12–19 digits passing the Luhn check).
    case card
    /// A 3–4 digit code right after or before a card number.
    case cvv
    /// A US social security number written `123-45-6789`.
    case ssn
    /// An IBAN whose mod-97 check holds.
    case iban
    /// A match of one of the site's own patterns.
    case custom
}

/// One hidden span of a redacted text: where the mask stands, in UTF-16 code units (the unit of
/// JavaScript strings, so the UI can mark it without converting).
public struct RedactionMark: Sendable, Codable, Equatable {
    /// What was hidden.
    public var kind: RedactionKind
    /// Where the mask starts in the redacted text, in UTF-16 code units.
    public var start: Int
    /// The mask's length in UTF-16 code units.
    public var length: Int

    /// Creates a mark.
    public init(kind: RedactionKind, start: Int, length: Int) {
        self.kind = kind
        self.start = start
        self.length = length
    }
}

/// A site's own pattern of something to hide, such as `POL-######` for a policy number.
/// `#` is a digit, `@` a letter, `?` a letter or digit; anything else matches itself, ignoring
/// case. A pattern has no repetition, so matching is a fixed-width comparison at each position
/// of the text: linear in the text for a given pattern, never backtracking.
public struct RedactionPattern: Sendable, Equatable {
    /// Longest pattern, in characters.
    public static let maxLength = 64
    /// Most patterns per site.
    public static let maxCount = 20

    /// The pattern as written.
    public let source: String
    private let units: [Unit]

    private enum Unit: Equatable {
        case digit, letter, alphanumeric
        case literal(Character)
    }

    /// Parses a pattern; nil unless it has 4–64 characters, no whitespace or control characters,
    /// and at least 4 of `#`, `@` and `?` (a pattern of literals only would hide a fixed word).
    public init?(_ source: String) {
        guard (4...Self.maxLength).contains(source.count), !source.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
        else { return nil }
        let units: [Unit] = source.map { character in
            switch character {
            case "#": .digit
            case "@": .letter
            case "?": .alphanumeric
            default: .literal(Character(character.lowercased()))
            }
        }
        guard units.filter({ if case .literal = $0 { false } else { true } }).count >= 4 else { return nil }
        self.source = source
        self.units = units
    }

    /// Whether the pattern matches `characters` starting at `index`.
    func matches(_ characters: [Character], at index: Int) -> Bool {
        guard index + units.count <= characters.count else { return false }
        for (offset, unit) in units.enumerated() {
            let character = characters[index + offset]
            switch unit {
            case .digit: guard character.isASCII, character.isNumber else { return false }
            case .letter: guard character.isLetter else { return false }
            case .alphanumeric: guard character.isLetter || (character.isASCII && character.isNumber) else { return false }
            case .literal(let expected): guard Character(character.lowercased()) == expected else { return false }
            }
        }
        return true
    }

    /// How many characters a match covers.
    var width: Int { units.count }
}

/// Hides payment card numbers, the CVV beside them, US social security numbers, IBANs and a
/// site's own patterns in free text, before the text is stored, sent, logged or indexed.
///
/// Only numbers that pass their check are hidden: a card number must pass the Luhn check, an
/// IBAN mod-97, an SSN the rules of issuance; a phone number, an order number or a date stays as
/// it is. A card number keeps at most its first 6 and last 4 digits (the first 6 only when it has
/// 16 or more digits), an SSN its last 4, an IBAN its country and last 4; every hidden character
/// becomes `•`. Separators (spaces, dashes) stay, so the shape is still recognizable.
public struct Redactor: Sendable {
    /// The mask character.
    public static let mask: Character = "•"
    /// The site's own patterns.
    public let patterns: [RedactionPattern]

    /// A redactor with the site's patterns (none: the built-in kinds only).
    public init(patterns: [RedactionPattern] = []) {
        self.patterns = patterns
    }

    /// The text with every sensitive span masked, and where each mask stands.
    public func redact(_ text: String) -> (text: String, marks: [RedactionMark]) {
        var characters = Array(text)
        var spans: [(range: Range<Int>, kind: RedactionKind, keep: Set<Int>)] = []
        func free(_ range: Range<Int>) -> Bool { !spans.contains { $0.range.overlaps(range) } }

        // Every card number first, then the codes beside them: a code must never claim digits
        // of a second card number.
        let cards = Self.cardNumbers(in: characters)
        for card in cards { spans.append((card.range, .card, card.keep)) }
        for card in cards {
            for code in Self.codes(near: card.range, in: characters) where free(code) { spans.append((code, .cvv, [])) }
        }
        for ssn in Self.socialSecurityNumbers(in: characters) where free(ssn) {
            spans.append((ssn, .ssn, Set(ssn.upperBound - 4..<ssn.upperBound)))
        }
        for iban in Self.ibans(in: characters) where free(iban.range) { spans.append((iban.range, .iban, iban.keep)) }
        for pattern in patterns {
            var index = 0
            while index < characters.count {
                let range = index..<index + pattern.width
                if Self.isBoundary(characters, before: index), pattern.matches(characters, at: index), Self.isBoundary(characters, after: range.upperBound),
                    free(range)
                {
                    spans.append((range, .custom, []))
                    index = range.upperBound
                } else {
                    index += 1
                }
            }
        }
        guard !spans.isEmpty else { return (text, []) }

        for span in spans {
            for index in span.range where !span.keep.contains(index) && Self.isMaskable(characters[index]) { characters[index] = Self.mask }
        }
        // Marks in UTF-16 units of the result, in text order.
        var marks: [RedactionMark] = []
        var offsets: [Int] = []
        offsets.reserveCapacity(characters.count + 1)
        var offset = 0
        for character in characters {
            offsets.append(offset)
            offset += character.utf16.count
        }
        offsets.append(offset)
        for span in spans.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            marks.append(
                RedactionMark(kind: span.kind, start: offsets[span.range.lowerBound], length: offsets[span.range.upperBound] - offsets[span.range.lowerBound]))
        }
        return (String(characters), marks)
    }

    // MARK: Finding candidates

    private static func isDigit(_ character: Character) -> Bool { character.isASCII && character.isNumber }
    private static func isSeparator(_ character: Character) -> Bool { character == " " || character == "-" }
    private static func isMaskable(_ character: Character) -> Bool { character.isLetter || character.isNumber }

    /// Whether nothing alphanumeric touches position `index` from the left.
    private static func isBoundary(_ characters: [Character], before index: Int) -> Bool {
        index == 0 || !(characters[index - 1].isLetter || characters[index - 1].isNumber)
    }

    /// Whether nothing alphanumeric touches position `index` from the right.
    private static func isBoundary(_ characters: [Character], after index: Int) -> Bool {
        index >= characters.count || !(characters[index].isLetter || characters[index].isNumber)
    }

    /// Runs of digit groups joined by single spaces or dashes: `[(start, end)]` of each group.
    private static func digitRuns(in characters: [Character]) -> [[Range<Int>]] {
        var runs: [[Range<Int>]] = []
        var index = 0
        while index < characters.count {
            guard isDigit(characters[index]), isBoundary(characters, before: index) || isSeparator(characters[index - 1]) else {
                index += 1
                continue
            }
            var groups: [Range<Int>] = []
            var cursor = index
            while cursor < characters.count, isDigit(characters[cursor]) {
                let start = cursor
                while cursor < characters.count, isDigit(characters[cursor]) { cursor += 1 }
                groups.append(start..<cursor)
                // One separator, then another group, continues the run.
                guard cursor + 1 < characters.count, isSeparator(characters[cursor]), isDigit(characters[cursor + 1]) else { break }
                cursor += 1
            }
            if isBoundary(characters, after: cursor) || (cursor < characters.count && isSeparator(characters[cursor])) {
                runs.append(groups)
            }
            index = max(cursor, index + 1)
        }
        return runs
    }

    /// Card numbers: consecutive groups of one run holding 12–19 digits in all that pass the
    /// Luhn check; the longest wins where candidates overlap.
    static func cardNumbers(in characters: [Character]) -> [(range: Range<Int>, keep: Set<Int>)] {
        var found: [(range: Range<Int>, keep: Set<Int>)] = []
        for groups in digitRuns(in: characters) {
            var first = 0
            while first < groups.count {
                var best: (last: Int, digits: [Int])?
                var digits: [Int] = []
                for last in first..<groups.count {
                    digits += groups[last].map { characters[$0].wholeNumberValue! }
                    if digits.count > 19 { break }
                    if digits.count >= 12, luhn(digits) { best = (last, digits) }
                }
                guard let best else {
                    first += 1
                    continue
                }
                let positions = groups[first...best.last].flatMap { Array($0) }
                let shownFirst = best.digits.count >= 16 ? 6 : 0
                found.append((groups[first].lowerBound..<groups[best.last].upperBound, Set(positions.prefix(shownFirst) + positions.suffix(4))))
                first = best.last + 1
            }
        }
        return found
    }

    /// The Luhn checksum (ISO/IEC 7812) holds.
    static func luhn(_ digits: [Int]) -> Bool {
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            let value = offset % 2 == 1 ? digit * 2 : digit
            sum += value > 9 ? value - 9 : value
        }
        return sum % 10 == 0
    }

    /// 3–4 digit numbers standing alone within 24 characters after or before a card number.
    private static func codes(near card: Range<Int>, in characters: [Character]) -> [Range<Int>] {
        var codes: [Range<Int>] = []
        let window = max(0, card.lowerBound - 24)..<min(characters.count, card.upperBound + 24)
        var index = window.lowerBound
        while index < window.upperBound {
            guard !card.contains(index), isDigit(characters[index]), isBoundary(characters, before: index) else {
                index += 1
                continue
            }
            var end = index
            while end < characters.count, isDigit(characters[end]) { end += 1 }
            if (3...4).contains(end - index), isBoundary(characters, after: end), !(end < characters.count && characters[end] == "/"),
                !(index > 0 && characters[index - 1] == "/")
            {
                codes.append(index..<end)
            }
            index = end
        }
        return codes
    }

    /// `AAA-GG-SSSS` with the rules of issuance: area not 000, 666 or 9xx; group not 00; serial not 0000.
    static func socialSecurityNumbers(in characters: [Character]) -> [Range<Int>] {
        var found: [Range<Int>] = []
        guard characters.count >= 11 else { return found }
        for index in 0...(characters.count - 11) where isBoundary(characters, before: index) && isBoundary(characters, after: index + 11) {
            let slice = characters[index..<index + 11]
            let shape = slice.enumerated().allSatisfy { offset, character in offset == 3 || offset == 6 ? character == "-" : isDigit(character) }
            guard shape else { continue }
            let digits = slice.compactMap(\.wholeNumberValue)
            let area = digits[0] * 100 + digits[1] * 10 + digits[2]
            let group = digits[3] * 10 + digits[4]
            let serial = digits[5...8].reduce(0) { $0 * 10 + $1 }
            if area != 0, area != 666, area < 900, group != 0, serial != 0 { found.append(index..<index + 11) }
        }
        return found
    }

    /// IBANs: two letters, two check digits and 11–30 letters or digits, optionally in groups
    /// separated by single spaces, whose mod-97 remainder is 1 (ISO 13616).
    static func ibans(in characters: [Character]) -> [(range: Range<Int>, keep: Set<Int>)] {
        var found: [(range: Range<Int>, keep: Set<Int>)] = []
        var index = 0
        while index + 15 <= characters.count {
            guard isBoundary(characters, before: index), characters[index].isASCII, characters[index].isLetter, characters[index + 1].isASCII,
                characters[index + 1].isLetter, isDigit(characters[index + 2]), isDigit(characters[index + 3])
            else {
                index += 1
                continue
            }
            // Collect alphanumerics with single spaces between them, up to 34.
            var positions: [Int] = []
            var cursor = index
            while cursor < characters.count, positions.count < 34 {
                let character = characters[cursor]
                if character.isASCII && (character.isLetter || character.isNumber) {
                    positions.append(cursor)
                    cursor += 1
                } else if character == " ", cursor + 1 < characters.count, characters[cursor + 1].isASCII,
                    characters[cursor + 1].isLetter || characters[cursor + 1].isNumber, !positions.isEmpty
                {
                    cursor += 1
                } else {
                    break
                }
            }
            // The longest prefix (15–34 characters, ending at a boundary) with a valid check.
            var match: Int?
            if positions.count >= 15 {
                for count in stride(from: positions.count, through: 15, by: -1) {
                    let end = positions[count - 1] + 1
                    guard isBoundary(characters, after: end) || characters[end] == " " else { continue }
                    if mod97(positions.prefix(count).map { characters[$0] }) == 1 {
                        match = count
                        break
                    }
                }
            }
            if let count = match {
                let used = Array(positions.prefix(count))
                found.append((index..<used[count - 1] + 1, Set(used.prefix(2) + used.suffix(4))))
                index = used[count - 1] + 1
            } else {
                index += 1
            }
        }
        return found
    }

    /// The IBAN check: the first four characters moved to the end, letters as 10–35, mod 97.
    private static func mod97(_ characters: [Character]) -> Int {
        var remainder = 0
        for character in characters.dropFirst(4) + characters.prefix(4) {
            let value: Int
            if let digit = character.wholeNumberValue, character.isASCII {
                value = digit
            } else if let ascii = character.uppercased().first?.asciiValue, (65...90).contains(ascii) {
                value = Int(ascii) - 55
            } else {
                return -1
            }
            remainder = (value >= 10 ? remainder * 100 + value : remainder * 10 + value) % 97
        }
        return remainder
    }
}
