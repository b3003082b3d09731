import AmarreAuth
import AmarreCore
import Foundation
import Testing

@Suite("Secrets and tokens")
struct SecretsTests {
    @Test("base64url, base32 and hex encode the RFC 4648 test vectors")
    func encodings() {
        #expect(Secrets.base64url(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Secrets.base64url(Array("fooba".utf8)) == "Zm9vYmE")
        #expect(Secrets.base64url(Array("f".utf8)) == "Zg")
        #expect(Secrets.base64url([0xFB, 0xFF]) == "-_8")
        #expect(Secrets.base32(Array("foobar".utf8)) == "mzxw6ytboi")
        #expect(Secrets.base32(Array("f".utf8)) == "my")
        #expect(Secrets.hex([0x00, 0xAB, 0xFF]) == "00abff")
        #expect(Secrets.unhex("00abFF") == [0x00, 0xAB, 0xFF])
        #expect(Secrets.unhex("0g") == nil)
        #expect(Secrets.unhex("abc") == nil)
    }

    @Test("SHA-256 of the empty string and of abc")
    func sha256() {
        #expect(Secrets.hex(Secrets.sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Secrets.hex(Secrets.sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("constant-time comparison compares lengths and every byte")
    func constantTime() {
        #expect(Secrets.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Secrets.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Secrets.constantTimeEqual([1, 2], [1, 2, 3]))
    }

    @Test("a generated token has 64 bits of id and 256 bits of secret, parses back, and differs each time")
    func tokens() throws {
        let token = DeviceToken.generate()
        #expect(token.id.count == 16)
        #expect(token.secret.count == 43)
        #expect(token.text.hasPrefix("amr_"))
        #expect(DeviceToken(text: token.text) == token)
        #expect(DeviceToken.generate() != token)
        let tokens = Set((0..<200).map { _ in DeviceToken.generate().text })
        #expect(tokens.count == 200)
    }

    @Test("malformed tokens are refused", arguments: [
        "", "amr_", "amr__", "xyz_0123456789abcdef_" + String(repeating: "A", count: 43),
        "amr_0123456789ABCDEF_" + String(repeating: "A", count: 43),
        "amr_0123456789abcde_" + String(repeating: "A", count: 43),
        "amr_0123456789abcdef_" + String(repeating: "A", count: 42),
        "amr_0123456789abcdef_" + String(repeating: "A", count: 42) + "=",
        "amr_0123456789abcdef_" + String(repeating: "A", count: 44),
    ])
    func malformed(text: String) {
        #expect(DeviceToken(text: text) == nil)
    }
}

@Suite("The access decision")
struct AccessControlTests {
    func table() -> (CredentialTable, DeviceToken, DeviceToken) {
        var table = CredentialTable()
        let browser = table.issue(name: "phone", kind: .browser, now: 1)
        let script = table.issue(name: "ci", kind: .token, now: 2)
        return (table, browser, script)
    }

    @Test("none mode lets everything in without looking at credentials")
    func noneMode() {
        #expect(AccessControl.decide(mode: .none, authorization: nil, cookie: nil, table: CredentialTable()) == .open)
        #expect(AccessControl.decide(mode: .none, authorization: "Bearer junk", cookie: nil, table: CredentialTable()) == .open)
    }

    @Test("token mode: a bearer token or a cookie of a listed device gets in, as that device")
    func validCredentials() {
        let (table, browser, script) = table()
        let bearer = AccessControl.decide(mode: .token, authorization: "Bearer " + script.text, cookie: nil, table: table)
        #expect(bearer.deviceID == script.id)
        #expect(bearer == .device(table.credentials[script.id]!.info, token: script, via: .bearer))
        let lower = AccessControl.decide(mode: .token, authorization: "bearer  " + script.text, cookie: nil, table: table)
        #expect(lower.deviceID == script.id)
        let cookie = AccessControl.decide(
            mode: .token, authorization: nil, cookie: "theme=dark; amarre_auth=\(browser.text); other=1", table: table)
        #expect(cookie == .device(table.credentials[browser.id]!.info, token: browser, via: .cookie))
    }

    @Test("token mode refuses no credential, a wrong secret, an unknown id, another scheme, a lookalike cookie")
    func refused() {
        let (table, browser, _) = table()
        let wrongSecret = DeviceToken(id: browser.id, secret: String(repeating: "A", count: 43))
        let unknown = DeviceToken.generate()
        for (authorization, cookie) in [
            (nil, nil),
            ("Bearer " + wrongSecret.text, nil),
            ("Bearer " + unknown.text, nil),
            ("Basic " + browser.text, nil),
            (nil, "amarre_auth=" + wrongSecret.text),
            (nil, "x_amarre_auth=" + browser.text),
            (nil, "amarre_auth2=" + browser.text),
            // A wrong bearer is not rescued by a good cookie.
            ("Bearer " + unknown.text, "amarre_auth=" + browser.text),
        ] as [(String?, String?)] {
            #expect(AccessControl.decide(mode: .token, authorization: authorization, cookie: cookie, table: table) == .denied)
        }
    }

    @Test("a revoked device is refused at once")
    func revoked() {
        var (table, browser, _) = table()
        table.credentials[browser.id] = nil
        #expect(AccessControl.decide(mode: .token, authorization: nil, cookie: "amarre_auth=" + browser.text, table: table) == .denied)
    }

    @Test("the cookie is HttpOnly, SameSite=Strict, Path=/, long-lived, Secure only over HTTPS")
    func cookie() {
        let token = DeviceToken.generate()
        let plain = AccessControl.setCookie(token, secure: false)
        #expect(plain == "amarre_auth=\(token.text); Path=/; Max-Age=34560000; HttpOnly; SameSite=Strict")
        #expect(AccessControl.setCookie(token, secure: true).hasSuffix("; Secure"))
        #expect(AccessControl.clearCookie(secure: false).contains("Max-Age=0"))
    }

    @Test("only hashes of secrets are kept, and the table round-trips through its file with mode 0600")
    func file() throws {
        let (table, browser, script) = table()
        let encoded = String(decoding: try JSONEncoder().encode(table), as: UTF8.self)
        #expect(!encoded.contains(browser.secret))
        #expect(!encoded.contains(script.secret))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-auth-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.path + "/devices.json"
        #expect(try CredentialFile.load(path) == CredentialTable())
        #expect(FileStamp(path: path) == nil)
        try CredentialFile.save(table, to: path)
        let first = FileStamp(path: path)
        #expect(try CredentialFile.load(path) == table)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        var smaller = table
        smaller.credentials[browser.id] = nil
        try CredentialFile.save(smaller, to: path)
        #expect(FileStamp(path: path) != first)
        #expect(try CredentialFile.load(path) == smaller)
    }
}

@Suite("Pairing codes and the attempt limit")
struct PairingTests {
    @Test("a code has 26 base32 characters, works once, and not after it expires")
    func codes() {
        var codes = PairingCodes()
        let code = codes.create(name: "phone", now: 0, ttlMs: 600_000)
        #expect(code.count == 26)
        #expect(code.allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) })
        #expect(codes.redeem("wrong", now: 1) == nil)
        let spaced = code.uppercased().enumerated().map { $0.offset % 5 == 4 ? "\($0.element)-" : "\($0.element)" }.joined()
        #expect(codes.redeem(spaced, now: 1) == .some("phone"))
        #expect(codes.redeem(code, now: 2) == nil)
        let late = codes.create(name: nil, now: 0, ttlMs: 1000)
        #expect(codes.redeem(late, now: 1000) == nil)
        let unnamed = codes.create(name: nil, now: 0, ttlMs: 1000)
        #expect(codes.redeem(unnamed, now: 999) == .some(nil))
    }

    @Test("at most 64 codes wait; the oldest goes first")
    func bounded() {
        var codes = PairingCodes()
        let first = codes.create(name: nil, now: 0, ttlMs: 1000)
        for _ in 0..<64 { _ = codes.create(name: nil, now: 0, ttlMs: 1000) }
        #expect(codes.count == 64)
        #expect(codes.redeem(first, now: 1) == nil)
    }

    @Test("five failures in a minute block an address until the oldest leaves the window; others are not affected")
    func limiter() {
        var limiter = AttemptLimiter()
        for t in 0..<5 {
            #expect(limiter.blockedFor("a", now: Int64(t * 1000)) == nil)
            limiter.recordFailure("a", now: Int64(t * 1000))
        }
        #expect(limiter.blockedFor("a", now: 5000) == 55_000)
        #expect(limiter.blockedFor("b", now: 5000) == nil)
        #expect(limiter.blockedFor("a", now: 59_999) == 1)
        #expect(limiter.blockedFor("a", now: 60_000) == nil)
        limiter.recordFailure("a", now: 60_000)
        #expect(limiter.blockedFor("a", now: 60_001) == Int64(999))
    }

    @Test("the limiter remembers a bounded number of addresses")
    func limiterBounded() {
        var limiter = AttemptLimiter(maxFailures: 1, windowMs: 60_000, maxKeys: 3)
        for (i, key) in ["a", "b", "c", "d"].enumerated() { limiter.recordFailure(key, now: Int64(i)) }
        #expect(limiter.blockedFor("a", now: 10) == nil)
        #expect(limiter.blockedFor("d", now: 10) != nil)
    }
}
