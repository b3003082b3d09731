public import Crypto
import Foundation

/// Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188).
public enum WebPushCrypto {
    /// Record size written in the header; a notification is always one record.
    static let recordSize: UInt32 = 4096
    /// Largest plaintext one record carries (record size minus the delimiter and the tag).
    public static let maxPayloadBytes = Int(recordSize) - 17

    public enum Failure: Error, Equatable {
        case badPublicKey
        case badAuthSecret
        case payloadTooLarge
    }

    /// Encrypts `payload` for a subscription's `p256dh` key (65-byte uncompressed point) and
    /// 16-byte `auth` secret. `salt` and `serverKey` are fresh for every message unless given
    /// (tests pass them to check RFC 8291's example).
    public static func encrypt(
        _ payload: [UInt8], p256dh: [UInt8], auth: [UInt8],
        salt: [UInt8]? = nil, serverKey: P256.KeyAgreement.PrivateKey? = nil
    ) throws -> [UInt8] {
        guard payload.count <= maxPayloadBytes else { throw Failure.payloadTooLarge }
        guard auth.count == 16 else { throw Failure.badAuthSecret }
        let userAgentKey: P256.KeyAgreement.PublicKey
        do {
            userAgentKey = try P256.KeyAgreement.PublicKey(x963Representation: p256dh)
        } catch {
            throw Failure.badPublicKey
        }
        let serverKey = serverKey ?? P256.KeyAgreement.PrivateKey()
        let serverPublic = Array(serverKey.publicKey.x963Representation)
        let salt = salt ?? randomBytes(16)
        let shared = try serverKey.sharedSecretFromKeyAgreement(with: userAgentKey)
        let ecdhSecret = shared.withUnsafeBytes { Array($0) }

        // RFC 8291 §3.4: the input keying material from the ECDH secret and the auth secret.
        let keyInfo = Array("WebPush: info".utf8) + [0] + p256dh + serverPublic
        let prkKey = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: ecdhSecret), salt: auth)
        let ikm = HKDF<SHA256>.expand(pseudoRandomKey: prkKey, info: keyInfo, outputByteCount: 32)

        // RFC 8188 §2.2: the content encryption key and nonce.
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: ikm, salt: salt)
        let cek = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Array("Content-Encoding: aes128gcm".utf8) + [0], outputByteCount: 16)
        let nonce = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Array("Content-Encoding: nonce".utf8) + [0], outputByteCount: 12)

        // One record: the payload and the last-record delimiter 0x02, no padding.
        let box = try AES.GCM.seal(
            payload + [2], using: cek, nonce: AES.GCM.Nonce(data: nonce.withUnsafeBytes { Array($0) }))
        var out = salt
        out += withUnsafeBytes(of: recordSize.bigEndian) { Array($0) }
        out.append(UInt8(serverPublic.count))
        out += serverPublic
        out += Array(box.ciphertext)
        out += Array(box.tag)
        return out
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
