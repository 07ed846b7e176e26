import Testing

@testable import ConfidantCore

@Suite("The guard against asking visitors for secrets")
struct SecretRequestGuardTests {
    @Test("Requests for a password, PIN, card number, CVV or one-time code are caught, in English, Hungarian and Spanish")
    func requestsAreCaught() {
        let requests: [(String, SecretRequestGuard.Secret)] = [
            ("Please send me your password so I can check.", .password),
            ("What's your PIN?", .pin),
            ("Could you tell me the full card number?", .cardNumber),
            ("Thanks. Now type the CVV from the back of the card.", .cvv),
            ("We sent you an SMS; read me the verification code please", .oneTimeCode),
            ("Kérem, adja meg a jelszavát.", .password),
            ("Mondja meg a kártyaszámot és a CVC kódot!", .cardNumber),
            ("Írja be az SMS-kód számjegyeit ide.", .oneTimeCode),
            ("¿Cuál es su contraseña?", .password),
            ("Envíeme el número de tarjeta, por favor.", .cardNumber),
            ("Dígame el código de verificación que recibió.", .oneTimeCode),
        ]
        for (text, secret) in requests {
            #expect(SecretRequestGuard.request(in: text) == secret, "\(text)")
        }
    }

    @Test("Ordinary replies, and promises never to ask, pass")
    func ordinaryRepliesPass() {
        let replies = [
            "We will never ask for your password or card number in chat.", "Soha nem kérjük el a jelszavát.", "Nunca le pediremos su contraseña.",
            "You can reset your password from the sign-in page.", "Your card was charged twice; I have refunded one payment.",
            "Please send me the order number.", "What is your delivery address?", "A PIN-kódot a bank postán küldi.",
            "Do not share your PIN with anyone, not even us.", "¿Cuál es su número de pedido?", "Thanks for waiting!",
        ]
        for text in replies {
            #expect(SecretRequestGuard.request(in: text) == nil, "\(text)")
        }
    }
}
