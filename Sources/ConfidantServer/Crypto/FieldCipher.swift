import ConfidantCore
import Crypto
import Foundation

/// What a sealed value is: the associated data binds each ciphertext to its column and row, so a
/// ciphertext copied into another row or column fails to open instead of being misread.
enum SealContext {
    case messageBody(MessageID)
    case visitorName(VisitorID)
    case visitorEmail(VisitorID)
    case pageURL(ConversationID)
    case ratingComment(ConversationID)
    case offlineName(OfflineMessageID)
    case offlineEmail(OfflineMessageID)
    case offlineBody(OfflineMessageID)

    var associatedData: Data {
        let label: String
        switch self {
        case .messageBody(let id): label = "messages.body|\(id)"
        case .visitorName(let id): label = "visitors.name|\(id)"
        case .visitorEmail(let id): label = "visitors.email|\(id)"
        case .pageURL(let id): label = "conversations.page_url|\(id)"
        case .ratingComment(let id): label = "conversations.rating_comment|\(id)"
        case .offlineName(let id): label = "offline_messages.name|\(id)"
        case .offlineEmail(let id): label = "offline_messages.email|\(id)"
        case .offlineBody(let id): label = "offline_messages.body|\(id)"
        }
        return Data("confidant.v1|\(label)".utf8)
    }
}

/// Seals and opens personal fields with a visitor's data key: AES-256-GCM, a fresh random 96-bit
/// nonce per value, stored as `0x01 ‖ nonce ‖ ciphertext ‖ tag`.
enum FieldCipher {
    static let formatVersion: UInt8 = 1

    /// Encrypts `plaintext` for storage.
    static func seal(_ plaintext: String, with key: SymmetricKey, as context: SealContext) throws -> Data {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: context.associatedData)
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Data([formatVersion]) + combined
    }

    /// Decrypts a stored value; throws if it was altered, moved or sealed under another key.
    static func open(_ sealed: Data, with key: SymmetricKey, as context: SealContext) throws -> String {
        guard sealed.first == formatVersion else { throw CryptoKitError.incorrectParameterSize }
        let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
        let plaintext = try AES.GCM.open(box, using: key, authenticating: context.associatedData)
        return String(decoding: plaintext, as: UTF8.self)
    }
}
