import Foundation
import TestSupport
import Testing

@testable import ConfidantCore

/// The redaction corpus: every card number here must be masked, every other number must survive.
@Suite("Redaction of card numbers, CVVs, SSNs, IBANs and site patterns")
struct RedactorTests {
    /// Published test numbers of the card schemes, 13 to 16 digits.
    static let publishedCards = [
        "4111111111111111", "4012888888881881", "4222222222222", "5555555555554444", "5105105105105100", "2223003122003222", "378282246310005",
        "371449635398431", "6011111111111117", "6011000990139424", "3530111333300000", "3566002020360505", "30569309025904", "38520000023237",
        "6200000000000005",
    ]

    /// A Luhn-valid number of `length` digits made from `seed` (its last digit is the check digit).
    static func luhnValid(length: Int, seed: UInt64) -> String {
        var generator = SeededGenerator(seed: seed)
        var digits = [Int.random(in: 1...9, using: &generator)] + (0..<(length - 2)).map { _ in Int.random(in: 0...9, using: &generator) }
        let check = (0...9).first { Redactor.luhn(digits + [$0]) }!
        digits.append(check)
        return digits.map(String.init).joined()
    }

    /// The same number as people type it: plain, in groups of four with spaces, with dashes.
    static func typings(of number: String) -> [String] {
        let groups = stride(from: 0, to: number.count, by: 4).map { start in
            String(number.dropFirst(start).prefix(4))
        }
        return [number, groups.joined(separator: " "), groups.joined(separator: "-")]
    }

    static var corpus: [String] {
        var cards = publishedCards
        for length in 12...19 {
            for seed in 1...6 { cards.append(luhnValid(length: length, seed: UInt64(length * 100 + seed))) }
        }
        return cards
    }

    @Test("Every Luhn-valid card number of 12–19 digits is masked, however it is typed; at most the first 6 and last 4 stay")
    func cardsAreMasked() {
        let redactor = Redactor()
        var checked = 0
        for number in Self.corpus {
            for typed in Self.typings(of: number) {
                for text in ["\(typed)", "My card is \(typed), thanks.", "card:\(typed)\nexpires soon", "«\(typed)»"] {
                    let (result, marks) = redactor.redact(text)
                    let digitsLeft = result.filter(\.isNumber)
                    #expect(!result.contains(typed), "\(text) → \(result)")
                    #expect(digitsLeft.count <= 10, "\(text) → \(result)")
                    #expect(digitsLeft.count <= (number.count >= 16 ? 10 : 4), "\(text) → \(result)")
                    #expect(String(digitsLeft).hasSuffix(number.suffix(4)), "the last 4 digits stay: \(text) → \(result)")
                    #expect(text.hasSuffix("thanks.") == result.hasSuffix(", thanks."), "the words around stay")
                    #expect(marks.map(\.kind) == [.card], "\(text)")
                    checked += 1
                }
            }
        }
        #expect(checked == Self.corpus.count * 12)
        #expect(redactor.redact("4111 1111 1111 1111").text == "4111 11•• •••• 1111")
        #expect(redactor.redact("3782-822463-10005").text == "••••-••••••-•0005")
    }

    @Test("Numbers that are not card numbers survive: phones, dates, orders, amounts, Luhn failures")
    func otherNumbersSurvive() {
        let redactor = Redactor()
        let survivors = [
            "+36 30 123 4567", "(555) 123-4567", "06-1-234-5678", "Order 100200300401 shipped", "2026-11-22", "12/27", "1 234 567 Ft",
            "4111 1111 1111 1112", "5555555555554445", "12345678901234567890123", "123-45-678", "ISBN 978-3-16-148410-0", "IP 192.168.100.200",
            "tracking 1Z999AA10123456784", "a4111111111111111", "4111111111111111z",
        ]
        for text in survivors {
            let (result, marks) = redactor.redact(text)
            #expect(result == text, "\(text) → \(result)")
            #expect(marks.isEmpty, "\(text)")
        }
        // A Luhn-valid number inside a longer one is not a card number.
        #expect(redactor.redact("12345678901234567890412").text == "12345678901234567890412")
    }

    @Test("A 3–4 digit code beside a card number is masked; the expiry date is not")
    func cvvBesideACard() {
        let redactor = Redactor()
        let (text, marks) = redactor.redact("4111111111111111 exp 12/27 cvv 123")
        #expect(text == "411111••••••1111 exp 12/27 cvv •••")
        #expect(marks.map(\.kind) == [.card, .cvv])
        #expect(redactor.redact("cvc 9876 for 5555 5555 5555 4444").text == "cvc •••• for 5555 55•• •••• 4444")
        // Two card numbers side by side: each is a card, never the other's code (found by the fuzzer).
        #expect(
            redactor.redact("5555-5555-5555-4444 5555-5555-5555-4444").text == "5555-55••-••••-4444 5555-55••-••••-4444")
        // Far from any card, or without one, a short number stays.
        #expect(redactor.redact("Room 123, order 4567").text == "Room 123, order 4567")
    }

    @Test("SSNs with a valid area, group and serial; IBANs with a valid mod-97 check")
    func ssnsAndIbans() {
        let redactor = Redactor()
        #expect(redactor.redact("SSN 123-45-6789.").text == "SSN •••-••-6789.")
        for invalid in ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000"] {
            #expect(redactor.redact(invalid).text == invalid, "\(invalid)")
        }
        let ibans = [
            ("HU42 1177 3016 1111 1018 0000 0000", "HU•• •••• •••• •••• •••• •••• 0000"),
            ("DE89370400440532013000", "DE••••••••••••••••3000"),
            ("GB82 WEST 1234 5698 7654 32", "GB•• •••• •••• •••• ••54 32"),
            ("ES91 2100 0418 4502 0005 1332", "ES•• •••• •••• •••• •••• 1332"),
        ]
        for (iban, masked) in ibans {
            let (text, marks) = redactor.redact("Pay to \(iban) please")
            #expect(text == "Pay to \(masked) please", "\(iban)")
            #expect(marks.map(\.kind) == [.iban])
        }
        #expect(redactor.redact("DE89370400440532013001").text == "DE89370400440532013001", "a failed check stays")
    }

    @Test("A site's own patterns: fixed width, at word boundaries, case-insensitive; bad patterns refused")
    func sitePatterns() throws {
        let redactor = Redactor(patterns: [try #require(RedactionPattern("POL-######")), try #require(RedactionPattern("@@??-####"))])
        #expect(redactor.redact("policy pol-123456 and POL-1234567").text == "policy •••-•••••• and POL-1234567")
        #expect(redactor.redact("ref ab1c-0042.").text == "ref ••••-••••.")
        for bad in ["abc", "POL-", "a b ####", String(repeating: "#", count: 65), "##-#"] {
            #expect(RedactionPattern(bad) == nil, "\(bad)")
        }
        var settings = SiteSettings(redactionPatterns: ["POL-######"])
        #expect(throws: Never.self) { try settings.validated() }
        settings.redactionPatterns = ["nope"]
        #expect(throws: ConfidantError.self) { try settings.validated() }
    }

    @Test("Marks give UTF-16 offsets of the masks in the redacted text")
    func marksAreUTF16Offsets() {
        let (text, marks) = Redactor().redact("👋🏽 card 4111 1111 1111 1111 ok")
        let utf16 = Array(text.utf16)
        #expect(marks.count == 1)
        let mark = marks[0]
        let masked = String(decoding: utf16[mark.start..<mark.start + mark.length], as: UTF16.self)
        #expect(masked == "4111 11•• •••• 1111")
    }
}
