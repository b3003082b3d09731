import AmarreAuth
import AmarreCore
@testable import AmarrePush
import Crypto
import Foundation
import Testing

@Suite("Web Push encryption and VAPID")
struct WebPushTests {
    /// RFC 8291 §5's example: the same keys, salt and plaintext give the same message.
    @Test("the RFC 8291 example message is reproduced byte for byte")
    func rfc8291Example() throws {
        let plaintext = Array("When I grow up, I want to be a watermelon".utf8)
        let uaPublic = try #require(Secrets.base64urlDecode(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"))
        let auth = try #require(Secrets.base64urlDecode("BTBZMqHH6r4Tts7J_aSIgg"))
        let asPrivate = try #require(Secrets.base64urlDecode("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
        let salt = try #require(Secrets.base64urlDecode("DGv6ra1nlYgDCS1FRnbzlw"))
        let expected = try #require(Secrets.base64urlDecode(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"))
        let message = try WebPushCrypto.encrypt(
            plaintext, p256dh: uaPublic, auth: auth, salt: salt,
            serverKey: try P256.KeyAgreement.PrivateKey(rawRepresentation: asPrivate))
        #expect(message == expected)
    }

    @Test("a fresh message has a fresh salt and server key, and bad keys are refused")
    func freshAndChecked() throws {
        let ua = P256.KeyAgreement.PrivateKey()
        let p256dh = Array(ua.publicKey.x963Representation)
        let auth = Array(repeating: UInt8(7), count: 16)
        let a = try WebPushCrypto.encrypt([1, 2, 3], p256dh: p256dh, auth: auth)
        let b = try WebPushCrypto.encrypt([1, 2, 3], p256dh: p256dh, auth: auth)
        #expect(a.count == 16 + 4 + 1 + 65 + 3 + 1 + 16)
        #expect(Array(a[0..<16]) != Array(b[0..<16]))
        #expect(throws: WebPushCrypto.Failure.badPublicKey) { try WebPushCrypto.encrypt([1], p256dh: [4, 1, 2], auth: auth) }
        #expect(throws: WebPushCrypto.Failure.badAuthSecret) { try WebPushCrypto.encrypt([1], p256dh: p256dh, auth: [1]) }
        #expect(throws: WebPushCrypto.Failure.payloadTooLarge) {
            try WebPushCrypto.encrypt(Array(repeating: 0, count: 5000), p256dh: p256dh, auth: auth)
        }
    }

    @Test("the VAPID header carries an ES256 JWT for the audience, verifiable with the public key")
    func vapid() throws {
        let keys = VAPIDKeys()
        let header = try keys.authorization(audience: "https://push.example.net", subject: "mailto:me@example.org", expires: 2_000_000_000)
        #expect(header.hasPrefix("vapid t="))
        let parts = header.dropFirst("vapid t=".count).components(separatedBy: ", k=")
        #expect(parts[1] == keys.publicKeyBase64URL)
        #expect(Secrets.base64urlDecode(parts[1])?.count == 65)
        let jwt = parts[0].split(separator: ".").map(String.init)
        #expect(jwt.count == 3)
        let claims = try #require(Secrets.base64urlDecode(jwt[1]))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(claims)) as? [String: Any])
        #expect(object["aud"] as? String == "https://push.example.net")
        #expect(object["sub"] as? String == "mailto:me@example.org")
        #expect(object["exp"] as? Int == 2_000_000_000)
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: try #require(Secrets.base64urlDecode(jwt[2])))
        #expect(keys.privateKey.publicKey.isValidSignature(signature, for: Array((jwt[0] + "." + jwt[1]).utf8)))
    }

    @Test("the key pair is made once and read back from its 0600 file")
    func keyFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-vapid-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.path + "/vapid.json"
        let first = try VAPIDKeys.loadOrCreate(path: path)
        let again = try VAPIDKeys.loadOrCreate(path: path)
        #expect(first.publicKeyBase64URL == again.publicKeyBase64URL)
        var info = stat()
        let found = stat(path, &info)
        #expect(found == 0 && info.st_mode & 0o777 == 0o600)
    }
}

@Suite("Push subscriptions, tokens and words")
struct PushModelTests {
    let p256dh = Secrets.base64url(P256.KeyAgreement.PrivateKey().publicKey.x963Representation)
    let auth = Secrets.base64url(Array(repeating: UInt8(1), count: 16))

    func body(_ endpoint: String) -> [UInt8] {
        Array(#"{"endpoint":"\#(endpoint)","expirationTime":null,"keys":{"p256dh":"\#(p256dh)","auth":"\#(auth)"}}"#.utf8)
    }

    @Test("endpoints must be https, or http on a loopback address", arguments: [
        ("https://fcm.googleapis.com/fcm/send/abc", true), ("http://127.0.0.1:9999/push/1", true),
        ("http://localhost:8080/x", true), ("http://[::1]:8080/x", true), ("http://10.0.0.2/x", false),
        ("http://127.0.0.1.example.net/x", false), ("http://127.evil.example/x", false),
        ("http://push.example.net/x", false), ("ftp://127.0.0.1/x", false), ("not a url", false),
    ])
    func endpoints(endpoint: String, ok: Bool) {
        let parsed = try? WebPushSubscription.parse(body(endpoint), deviceId: nil, now: 1)
        #expect((parsed != nil) == ok)
    }

    @Test("keys must decode to a P-256 point and a 16-byte secret")
    func keys() {
        for bad in [
            #"{"endpoint":"https://a.example/x","keys":{"p256dh":"AAAA","auth":"\#(auth)"}}"#,
            #"{"endpoint":"https://a.example/x","keys":{"p256dh":"\#(p256dh)","auth":"AAAA"}}"#,
            #"{"endpoint":"https://a.example/x"}"#, "[]", "",
        ] {
            #expect(throws: AmarreError.self) { try WebPushSubscription.parse(Array(bad.utf8), deviceId: nil, now: 1) }
        }
        let sub = try? WebPushSubscription.parse(body("https://a.example:8443/x"), deviceId: "d", now: 1)
        #expect(sub?.audience == "https://a.example:8443")
        #expect(sub?.deviceId == "d")
    }

    @Test("Expo tokens of both spellings are taken, anything else refused")
    func expo() {
        #expect(ExpoToken.isValid("ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"))
        #expect(ExpoToken.isValid("ExpoPushToken[abc-123_x]"))
        for bad in ["ExponentPushToken[]", "ExponentPushToken[a b]", "Token[abc]", "ExponentPushToken[abc", ""] {
            #expect(!ExpoToken.isValid(bad), "\(bad)")
        }
    }

    @Test("a revoked device takes its subscriptions and tokens along; the registry is bounded")
    func registry() throws {
        var registry = PushRegistry()
        registry.add(try WebPushSubscription.parse(body("https://a.example/1"), deviceId: "phone", now: 1))
        registry.add(try WebPushSubscription.parse(body("https://a.example/2"), deviceId: "laptop", now: 1))
        registry.add(try WebPushSubscription.parse(body("https://a.example/1"), deviceId: "phone", now: 2))
        registry.add(token: "ExpoPushToken[a]", deviceId: "phone", now: 1)
        #expect(registry.subscriptions.count == 2)
        let removed = registry.removeDevice("phone")
        #expect(removed)
        #expect(registry.subscriptions.map(\.endpoint) == ["https://a.example/2"])
        #expect(registry.expoTokens.isEmpty)
        for i in 0..<(PushRegistry.maxNotified + 5) { registry.markNotified("s/\(i)") }
        #expect(registry.notified.count == PushRegistry.maxNotified)
    }

    @Test("an approval's words: its title's first line and at most 100 characters of the rest; none says only who")
    func words() {
        let full = PushTexts(detail: .full, publicURL: "https://box.example.ts.net")
        let long = String(repeating: "x", count: 300)
        let e = full.awaitingInput(session: "0123456789ab", name: "fix tests", requestId: "r1", title: "Run bash?\nls   -la\n" + long, message: nil)
        #expect(e.title == "fix tests: approval needed")
        #expect(e.body.hasPrefix("Run bash? ls -la xxx"))
        #expect(e.body.count == "Run bash? ".count + 100)
        #expect(e.url == "https://box.example.ts.net/#/s/0123456789ab")
        #expect(e.requestId == "r1" && e.isUrgent)
        let claude = full.awaitingInput(session: "0123456789ab", name: nil, requestId: "r2", title: "Allow Write?", message: "/tmp/a.txt")
        #expect(claude.body == "Allow Write? /tmp/a.txt")
        #expect(claude.sessionName == "0123456789ab")
        let none = PushTexts(detail: .none, publicURL: "http://127.0.0.1:8341/")
        #expect(none.awaitingInput(session: "0123456789ab", name: "n", requestId: "r", title: "Run bash?\nrm -rf /", message: nil).body == "n needs you")
        #expect(none.done(session: "0123456789ab", name: "n").body == "n needs you")
        #expect(full.crashed(session: "0123456789ab", name: "n", how: "code 3").body == "The agent exited (code 3)")
        #expect(!full.done(session: "0123456789ab", name: "n").isUrgent)
    }
}
