import AmarreCore
/// Decides how the session host answers an HTTP request on its WebSocket socket.
///
/// Pure, so the upgrade check and the refusal answer use one rule, tested without I/O.
enum HandshakeDecision: Equatable, Sendable {
    case accept(SessionID)
    case reject(AmarreError)

    /// - Parameters:
    ///   - uri: the request target (path and optional query).
    ///   - isUpgrade: the request asks for a WebSocket upgrade.
    ///   - authorized: the access decision (`AccessControl.decide`) let the request in.
    ///   - status: the status of a session, nil when unknown.
    ///   - hasRoom: the session and the host take one more client.
    ///
    /// Checks, in order: path (404/426), upgrade (426), host and origin (403), credentials
    /// (401, before any lookup, so ids cannot be probed), session (404/409), room (503).
    static func decide(
        uri: String,
        isUpgrade: Bool,
        origin: String?,
        host: String?,
        scheme: String,
        policy: OriginPolicy,
        authorized: Bool = true,
        status: (SessionID) -> SessionStatus?,
        hasRoom: (SessionID) -> Bool = { _ in true }
    ) -> HandshakeDecision {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        if path == "/" {
            return .reject(AmarreError(.upgradeRequired, detail: "Use /sessions/<id>"))
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, parts[1] == "sessions", let id = SessionID(parts[2]) else {
            return .reject(.notFound)
        }
        guard isUpgrade else {
            return .reject(AmarreError(.upgradeRequired, detail: "WebSocket upgrade required"))
        }
        guard policy.allowsHost(host), policy.allows(origin: origin, host: host, scheme: scheme) else {
            return .reject(AmarreError(.forbiddenOrigin))
        }
        guard authorized else { return .reject(AmarreError(.unauthorized)) }
        switch status(id) {
        case nil: return .reject(.notFound)
        case .running?:
            guard hasRoom(id) else { return .reject(AmarreError(.tooManyClients)) }
            return .accept(id)
        case .some(let other):
            return .reject(AmarreError(.notRunning, detail: "session is \(other.rawValue)"))
        }
    }
}
