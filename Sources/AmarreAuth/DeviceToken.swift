/// A device's credential: `amr_<id>_<secret>`.
///
/// `id` (16 lowercase hex digits, 64 bits) names the device and is not secret: it is what
/// `amarre devices` lists and `amarre revoke` takes. `secret` is 32 random bytes in
/// base64url (256 bits). The host stores SHA-256 of the secret only. The same text is a
/// browser's cookie value and a script's bearer token.
public struct DeviceToken: Sendable, Equatable {
    public static let prefix = "amr_"
    public static let idHexDigits = 16
    public static let secretBytes = 32

    public var id: String
    public var secret: String

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// A new token with a fresh id and secret.
    public static func generate() -> DeviceToken {
        DeviceToken(id: newID(), secret: Secrets.base64url(Secrets.randomBytes(secretBytes)))
    }

    /// A fresh device id.
    public static func newID() -> String {
        Secrets.hex(Secrets.randomBytes(idHexDigits / 2))
    }

    public var text: String { DeviceToken.prefix + id + "_" + secret }

    /// Hex SHA-256 of the secret: what is stored.
    public var secretHash: String { Secrets.hex(Secrets.sha256(secret)) }

    /// Parses a token's text; nil for anything not of the token's exact shape.
    public init?(text: some StringProtocol) {
        guard text.hasPrefix(DeviceToken.prefix) else { return nil }
        let body = text.dropFirst(DeviceToken.prefix.count)
        guard let separator = body.firstIndex(of: "_") else { return nil }
        let id = body[..<separator]
        let secret = body[body.index(after: separator)...]
        guard id.utf8.count == DeviceToken.idHexDigits, id.utf8.allSatisfy(DeviceToken.isLowerHex),
            secret.utf8.count == 43, secret.utf8.allSatisfy(DeviceToken.isBase64url)
        else { return nil }
        self.init(id: String(id), secret: String(secret))
    }

    static func isLowerHex(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
    }

    static func isBase64url(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }
}
