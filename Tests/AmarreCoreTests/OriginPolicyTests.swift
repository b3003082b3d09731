import AmarreCore
import Testing

private let none = OriginPolicy(allowedOrigins: [])

@Suite("OriginPolicy")
struct OriginPolicyTests {
    @Test("a request without Origin is allowed")
    func noOrigin() {
        #expect(none.allows(origin: nil, host: "localhost:8341", scheme: "http"))
        #expect(none.allows(origin: "", host: "localhost:8341", scheme: "http"))
        #expect(none.allows(origin: nil, host: nil, scheme: "http"))
    }

    @Test(
        "the request's own origin is allowed",
        arguments: [
            ("http://localhost:8341", "localhost:8341", "http"),
            ("https://box.example", "box.example", "https"),
            ("HTTP://LocalHost:8341", "localhost:8341", "http"),
            ("http://localhost:8341/", "localhost:8341", "http"),
            ("http://[::1]:8341", "[::1]:8341", "http"),
        ])
    func ownOrigin(origin: String, host: String, scheme: String) {
        #expect(none.allows(origin: origin, host: host, scheme: scheme))
    }

    @Test(
        "a default port is the same origin with or without it",
        arguments: [
            ("http://example.com", "example.com:80", "http"),
            ("http://example.com:80", "example.com", "http"),
            ("https://example.com", "example.com:443", "https"),
            ("https://example.com:443", "example.com", "https"),
        ])
    func defaultPort(origin: String, host: String, scheme: String) {
        #expect(none.allows(origin: origin, host: host, scheme: scheme))
    }

    @Test("behind a TLS terminator the scheme may differ but the host must match")
    func tlsTerminator() {
        #expect(none.allows(origin: "https://box.tail.ts.net", host: "box.tail.ts.net", scheme: "http"))
        #expect(none.allows(origin: "http://box.tail.ts.net", host: "box.tail.ts.net", scheme: "https"))
        #expect(none.allows(origin: "https://box.tail.ts.net", host: "box.tail.ts.net:443", scheme: "http"))
        #expect(!none.allows(origin: "https://box.tail.ts.net:8443", host: "box.tail.ts.net", scheme: "http"))
        #expect(!none.allows(origin: "https://other.tail.ts.net", host: "box.tail.ts.net", scheme: "http"))
        #expect(!none.allows(origin: "https://box.tail.ts.net", host: "box.tail.ts.net:80", scheme: "http"))
    }

    @Test("listed origins are allowed from any host, normalised")
    func allowedList() {
        let policy = OriginPolicy(allowedOrigins: ["https://App.Example:443/", "http://dev.local:3000"])
        #expect(policy.allows(origin: "https://app.example", host: "localhost:8341", scheme: "http"))
        #expect(policy.allows(origin: "http://dev.local:3000", host: nil, scheme: "http"))
        #expect(!policy.allows(origin: "http://dev.local:3001", host: "localhost:8341", scheme: "http"))
    }

    @Test("the opaque origin null is refused")
    func nullOrigin() {
        #expect(!none.allows(origin: "null", host: "localhost:8341", scheme: "http"))
        #expect(!none.allows(origin: "null", host: "null", scheme: "http"))
    }

    @Test(
        "foreign origins are refused",
        arguments: [
            "https://evil.example", "http://localhost:8342", "http://localhost:8341.evil.example",
            "http://evil.example#localhost:8341", "http://localhost", "file://", "http://127.0.0.1:8341",
        ])
    func foreign(origin: String) {
        #expect(!none.allows(origin: origin, host: "localhost:8341", scheme: "http"))
    }

    @Test("an Origin without a Host to compare with is refused")
    func originWithoutHost() {
        #expect(!none.allows(origin: "http://localhost:8341", host: nil, scheme: "http"))
        #expect(!none.allows(origin: "http://localhost:8341", host: "", scheme: "http"))
    }

    @Test(
        "normalize lowercases and drops a trailing slash and the scheme's default port",
        arguments: [
            ("HTTP://A.B/", "http://a.b"), ("http://a.b:80", "http://a.b"), ("https://a.b:443", "https://a.b"),
            ("http://a.b:443", "http://a.b:443"), ("https://a.b:80", "https://a.b:80"), ("null", "null"),
        ])
    func normalize(input: String, output: String) {
        #expect(OriginPolicy.normalize(input) == output)
    }
}

@Suite("Host check (DNS rebinding)")
struct HostPolicyTests {
    let policy = OriginPolicy(allowedOrigins: ["https://phone.example"], allowedHosts: ["amarre.home.lan"])

    @Test("IP literals, localhost, tailnet names and listed hosts are served", arguments: [
        "127.0.0.1:8341", "127.0.0.1", "192.168.1.20:8341", "[::1]:8341", "localhost:8341", "LOCALHOST",
        "box.tail1234.ts.net", "box.tail1234.ts.net:443", "amarre.home.lan:8080", "phone.example", "amarre.home.lan.",
        "Box.Tail1234.TS.NET.:443", "10.0.0.255",
    ])
    func allowed(host: String) {
        #expect(policy.allowsHost(host))
    }

    @Test("a name that could be rebound to this machine is refused", arguments: [
        "evil.example:8341", "127.0.0.1.evil.example", "ts.net.evil.example", "1.2.3", "1.2.3.4.5", "localhost.evil",
        "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4444", "\u{0661}\u{0662}\u{0667}.0.0.1", "évil.example",
    ])
    func refused(host: String) {
        #expect(!policy.allowsHost(host))
    }

    @Test("a request without Host (not a browser) is allowed")
    func noHost() {
        #expect(policy.allowsHost(nil))
        #expect(policy.allowsHost(""))
    }
}
