public import ConfidantCore
public import Crypto
public import Foundation

/// What a sealed value is: the associated data binds each ciphertext to its column and row, so a
/// ciphertext copied into another row or column fails to open instead of being misread.
public enum SealContext: Sendable {
    /// A message's body.
    case messageBody(MessageID)
    /// A visitor's name.
    case visitorName(VisitorID)
    /// A visitor's e-mail address.
    case visitorEmail(VisitorID)
    /// A verified visitor's signed identity (JSON).
    case visitorIdentity(VisitorID)
    /// The page a conversation started on.
    case pageURL(ConversationID)
    /// A rating's comment.
    case ratingComment(ConversationID)
    /// An offline message's name.
    case offlineName(OfflineMessageID)
    /// An offline message's e-mail address.
    case offlineEmail(OfflineMessageID)
    /// An offline message's body.
    case offlineBody(OfflineMessageID)

    /// The associated data that binds a ciphertext to its column and row.
    var associatedData: Data {
        let label: String
        switch self {
        case .messageBody(let id): label = "messages.body|\(id)"
        case .visitorName(let id): label = "visitors.name|\(id)"
        case .visitorEmail(let id): label = "visitors.email|\(id)"
        case .visitorIdentity(let id): label = "visitors.verified|\(id)"
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
public enum FieldCipher {
    static let formatVersion: UInt8 = 1

    /// Encrypts `plaintext` for storage.
    public static func seal(_ plaintext: String, with key: SymmetricKey, as context: SealContext) throws -> Data {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: context.associatedData)
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Data([formatVersion]) + combined
    }

    /// Decrypts a stored value; throws if it was altered, moved or sealed under another key.
    public static func open(_ sealed: Data, with key: SymmetricKey, as context: SealContext) throws -> String {
        guard sealed.first == formatVersion else { throw CryptoKitError.incorrectParameterSize }
        let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
        let plaintext = try AES.GCM.open(box, using: key, authenticating: context.associatedData)
        return String(decoding: plaintext, as: UTF8.self)
    }
}
