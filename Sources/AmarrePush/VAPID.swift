import AmarreAuth
import AmarreCore
import AmarreJSON
public import Crypto
import Foundation

/// The server's identity for Web Push (RFC 8292): one P-256 key pair, made at first start
/// and kept in `vapid.json` (0600).
public struct VAPIDKeys: Sendable {
    /// The private scalar (32 bytes); Crypto's key types are not `Sendable`.
    private let rawPrivateKey: [UInt8]

    public init(privateKey: P256.Signing.PrivateKey = P256.Signing.PrivateKey()) {
        self.rawPrivateKey = Array(privateKey.rawRepresentation)
    }

    public var privateKey: P256.Signing.PrivateKey {
        // The bytes came from a valid key.
        try! P256.Signing.PrivateKey(rawRepresentation: rawPrivateKey)
    }

    /// The 65-byte uncompressed public point, base64url: the browser's `applicationServerKey`
    /// and the `k` of the `Authorization` header.
    public var publicKeyBase64URL: String { Secrets.base64url(privateKey.publicKey.x963Representation) }

    /// `vapid t=<JWT>, k=<public key>` for a push service at `audience` (`scheme://host[:port]`).
    public func authorization(audience: String, subject: String, expires: Int64) throws -> String {
        let header = Secrets.base64url(Array(#"{"typ":"JWT","alg":"ES256"}"#.utf8))
        let claims = Secrets.base64url(
            Array(("{\"aud\":" + JSONText.quote(audience) + ",\"exp\":\(expires),\"sub\":" + JSONText.quote(subject) + "}").utf8))
        let signingInput = header + "." + claims
        let signature = try privateKey.signature(for: Array(signingInput.utf8))
        return "vapid t=" + signingInput + "." + Secrets.base64url(signature.rawRepresentation) + ", k=" + publicKeyBase64URL
    }

    /// Loads the key pair of `path`, or makes one and writes it (0600) when there is none.
    public static func loadOrCreate(path: String) throws -> VAPIDKeys {
        if let data = FileManager.default.contents(atPath: path) {
            struct File: Decodable { var privateKey: String }
            let file = try JSONDecoder().decode(File.self, from: data)
            guard let raw = Secrets.base64urlDecode(file.privateKey) else { throw PushFileError("\(path): privateKey is not base64url") }
            return VAPIDKeys(privateKey: try P256.Signing.PrivateKey(rawRepresentation: raw))
        }
        let keys = VAPIDKeys()
        let text = #"{"privateKey":"# + JSONText.quote(Secrets.base64url(keys.privateKey.rawRepresentation))
            + #","publicKey":"# + JSONText.quote(keys.publicKeyBase64URL) + "}\n"
        try PrivateFile.write(Array(text.utf8), to: path)
        return keys
    }
}

public struct PushFileError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

