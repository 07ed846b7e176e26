import Foundation

/// Spots a staff reply that asks the visitor for a secret: a password, a PIN, a full card
/// number, a CVV or a one-time code. Such a reply is held (``ChatService``), which protects
/// visitors from careless agents and from impostors using a stolen agent account alike.
///
/// A sentence is a request when it names a secret and asks for it (a verb such as "send",
/// "tell", "type", "confirm", or "what is"), in English, Hungarian or Spanish, and does not
/// promise the opposite ("we will never ask for your password"). Matching is by words and
/// phrases on case- and accent-folded text: linear, no regular expressions.
public enum SecretRequestGuard {
    /// What was asked for.
    public enum Secret: String, Sendable, Codable, CaseIterable {
        case password
        case pin
        case cardNumber = "card_number"
        case cvv
        case oneTimeCode = "one_time_code"
    }

    static let secrets: [(Secret, [String])] = [
        (.password, ["password", "passcode", "passphrase", "jelszo", "jelszav", "contrasena", "clave de acceso"]),
        (.pin, ["pin", "pin code", "pin kod", "pin-kod", "pinkod", "codigo pin"]),
        (.cardNumber, ["card number", "full card", "kartyaszam", "kartya szam", "numero de tarjeta", "numero de la tarjeta"]),
        (.cvv, ["cvv", "cvc", "cvv2", "security code", "biztonsagi kod", "codigo de seguridad"]),
        (
            .oneTimeCode,
            [
                "one-time code", "one time code", "otp", "verification code", "sms code", "2fa code", "authentication code", "egyszer hasznalatos",
                "ellenorzo kod", "sms kod", "sms-kod", "codigo de verificacion", "codigo de un solo uso", "codigo sms",
            ]
        ),
    ]

    static let asks = [
        // English
        "send", "tell me", "tell us", "give me", "give us", "share", "provide", "type", "enter", "confirm", "read me", "read out", "need your",
        "need the", "what is your", "what's your", "whats your", "what is the", "can i have", "may i have", "let me know", "spell",
        // Hungarian
        "adja meg", "adjad meg", "add meg", "kuldje", "kuldd", "mondja meg", "mondd meg", "irja be", "ird be", "diktalja", "mi a", "mi az",
        "kerem a", "kernem", "szukseg van", "erositse meg",
        // Spanish
        "digame", "dime", "envie", "envieme", "enviame", "mande", "indiqueme", "indique", "proporcione", "escriba", "cual es", "necesito",
        "confirme", "facilite", "comparta", "dicteme",
    ]

    static let promises = ["never", "don't share", "do not share", "won't ask", "will not ask", "soha", "ne adja", "nunca", "no comparta"]

    /// The first secret a sentence of `text` asks for, or nil.
    public static func request(in text: String) -> Secret? {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
        for sentence in folded.split(whereSeparator: { ".?!;\n".contains($0) }) {
            let words = " " + sentence.map { $0.isLetter || $0.isNumber || $0 == "'" || $0 == "-" ? $0 : " " } + " "
            // A phrase of up to 4 characters must be a whole word ("pin", not "pinch"); a longer
            // one may start a word, so stems match their endings ("jelszav" in "jelszavát").
            func has(_ phrase: String) -> Bool { words.contains(phrase.count > 4 ? " \(phrase)" : " \(phrase) ") }
            guard !promises.contains(where: has), asks.contains(where: has) else { continue }
            if let (secret, _) = secrets.first(where: { $0.1.contains(where: has) }) { return secret }
        }
        return nil
    }
}
