import AmarreCore
@testable import AmarreHost
import Testing

private let id = "0123456789ab"
private let sessionID = SessionID(id)!  // a literal of 12 lowercase hex digits
private let policy = OriginPolicy(allowedOrigins: [])

private func decide(
    _ uri: String, upgrade: Bool = true, origin: String? = nil, status: SessionStatus? = .running
) -> HandshakeDecision {
    HandshakeDecision.decide(
        uri: uri, isUpgrade: upgrade, origin: origin, host: "localhost:8341", scheme: "http", policy: policy,
        status: { $0 == sessionID ? status : nil })
}

private func status(_ decision: HandshakeDecision) -> Int? {
    if case .reject(let error) = decision { return error.httpStatus }
    return nil
}

@Suite("HandshakeDecision")
struct HandshakeDecisionTests {
    @Test("an upgrade to a running session is accepted")
    func acceptRunning() {
        #expect(decide("/sessions/\(id)") == .accept(sessionID))
    }

    @Test("the query string is ignored", arguments: ["/sessions/\(id)?token=x", "/sessions/\(id)?", "/sessions/\(id)?a=/b?c"])
    func queryIgnored(uri: String) {
        #expect(decide(uri) == .accept(sessionID))
    }

    @Test("an upgrade on the root gets 426 pointing at the sessions path", arguments: ["/", "/?x=1"])
    func rootIs426(uri: String) {
        let decision = decide(uri)
        #expect(decision == .reject(AmarreError(.upgradeRequired, detail: "Use /sessions/<id>")))
        #expect(status(decision) == 426)
        #expect(status(decide(uri, upgrade: false)) == 426)
    }

    @Test(
        "other paths and malformed ids are not found",
        arguments: [
            "", "/sessions", "/sessions/", "/sessions/0123456789AB", "/sessions/0123456789a", "/sessions/\(id)/",
            "/sessions/\(id)/restart", "/other", "//sessions/\(id)", "/Sessions/\(id)", "sessions/\(id)",
            "/healthz", "/sessions/\(id)x",
        ])
    func otherPaths(uri: String) {
        #expect(decide(uri) == .reject(.notFound))
    }

    @Test("a request without an upgrade gets 426")
    func noUpgrade() {
        let decision = decide("/sessions/\(id)", upgrade: false)
        #expect(status(decision) == 426)
    }

    @Test("a foreign origin gets 403 before the session is looked up")
    func foreignOriginFirst() {
        var looked = false
        let decision = HandshakeDecision.decide(
            uri: "/sessions/\(id)", isUpgrade: true, origin: "https://evil.example", host: "localhost:8341",
            scheme: "http", policy: policy, status: { _ in looked = true; return nil })
        #expect(decision == .reject(AmarreError(.forbiddenOrigin)))
        #expect(status(decision) == 403)
        #expect(!looked)
    }

    @Test("the request's own origin is accepted")
    func ownOrigin() {
        #expect(decide("/sessions/\(id)", origin: "http://localhost:8341") == .accept(sessionID))
    }

    @Test("an unknown session is not found")
    func unknownSession() {
        #expect(decide("/sessions/ffffffffffff") == .reject(.notFound))
        #expect(decide("/sessions/\(id)", status: nil) == .reject(.notFound))
    }

    @Test("a session that is not running gets 409", arguments: [SessionStatus.crashed, .stopped])
    func notRunning(sessionStatus: SessionStatus) {
        let decision = decide("/sessions/\(id)", status: sessionStatus)
        #expect(decision == .reject(AmarreError(.notRunning, detail: "session is \(sessionStatus.rawValue)")))
        #expect(status(decision) == 409)
    }
}
