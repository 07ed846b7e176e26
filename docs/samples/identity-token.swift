// Signs a Confidant identity token for a signed-in customer (docs/security.md, "Verified
// visitors"), with swift-crypto (or CryptoKit on Apple platforms). Run it on your site's backend,
// once per page view, and put the result in the widget's `data-identity-token` attribute.
import Crypto
import Foundation

func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

func identityToken(widgetKey: String, secret: String, userID: String, email: String? = nil, name: String? = nil, lifetime: TimeInterval = 600) throws
    -> String
{
    var payload: [String: Any] = [
        "site": widgetKey, "sub": userID, "exp": Int(Date().timeIntervalSince1970 + lifetime),
        "nonce": base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }),
    ]
    if let email { payload["email"] = email }
    if let name { payload["name"] = name }
    let body = base64URL(try JSONSerialization.data(withJSONObject: payload))
    let signature = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return "\(body).\(base64URL(Data(signature)))"
}
