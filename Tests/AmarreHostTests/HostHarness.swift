import AmarreCore
import AmarreHost
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// amarre-host as `main` builds it (`HostApplication`: the store on, both sockets bound) in a
/// scratch directory, which agents see as `$T`.
struct HostHarness: Sendable {
    let application: HostApplication
    var group: MultiThreadedEventLoopGroup { application.group }
    var loop: any EventLoop { application.eventLoop }
    var host: NIOLoopBound<SessionHost> { application.host }
    /// A fresh directory, removed at the end; agents see it as `$T`.
    let dir: String

    static let serverEnvironment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]

    /// Runs `body` with a fresh host, then stops every agent and removes the directory.
    static func with<R: Sendable>(
        instances: (String) -> [InstanceConfig],
        maxSessions: Int = 8,
        killGraceMs: Int = 5000,
        serverEnvironment: [String: String] = HostHarness.serverEnvironment,
        configure: (inout AmarreConfiguration) -> Void = { _ in },
        _ body: (HostHarness) async throws -> R
    ) async throws -> R {
        // Short: the sockets live under it, and sun_path holds 107 bytes.
        let dir = "/tmp/amarre-host-" + UUID().uuidString.prefix(13)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var configuration = AmarreConfiguration(stateDir: dir + "/state", instances: instances(dir))
        configuration.maxSessions = maxSessions
        configuration.killGraceMs = killGraceMs
        configure(&configuration)
        let logger = Logger(label: "amarre.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let application = try await HostApplication.start(
            configuration: configuration, logger: logger, serverEnvironment: serverEnvironment)
        let harness = HostHarness(application: application, dir: dir)
        let result: Result<R, any Error>
        do {
            result = .success(try await body(harness))
        } catch {
            result = .failure(error)
        }
        do {
            try await application.stop(within: .seconds(5))
        } catch {
            Issue.record("host did not stop: \(error)")
            // The host still holds stopAll's unfulfilled promise; freeing it would trip NIO's
            // leaked-promise check and crash the whole test run, so it is kept alive.
            Quarantine.shared.keep(application)
        }
        try? FileManager.default.removeItem(atPath: dir)  // best effort: a leftover temp dir is harmless
        return try result.get()
    }

    func handle(_ request: ControlRequest) async throws -> ControlResponse {
        try await application.handle(request)
    }

    /// `stopAll()`, waiting at most `within` for its future.
    func stopAll(within: TimeAmount) async throws {
        try await application.stopAgents(within: within)
    }

    /// Creates a session and returns its summary; records an issue when creation fails.
    func create(_ request: CreateSessionRequest = CreateSessionRequest()) async throws -> SessionSummary {
        let response = try await handle(.createSession(request))
        guard case .sessionJSON(let summary) = response else {
            Issue.record("create failed: \(response)")
            throw TimedOut(what: "a session")
        }
        return try summary.decode(SessionSummary.self)
    }

    func summary(_ id: SessionID) async throws -> SessionSummary? {
        if case .sessionJSON(let s) = try await handle(.getSession(id)) { return try s.decode(SessionSummary.self) }
        return nil
    }

    func listedIDs() async throws -> [SessionID] {
        guard case .sessionsJSON(let list) = try await handle(.listSessions) else { return [] }
        return try list.decode([SessionSummary].self).map(\.id)
    }

    /// Polls the session until `condition` holds on its summary, for at most `timeout`.
    @discardableResult
    func waitFor(
        _ id: SessionID, _ what: String, timeout: Duration = .seconds(10),
        _ condition: (SessionSummary) -> Bool
    ) async throws -> SessionSummary {
        try await poll(what, timeout: timeout) {
            guard let s = try await summary(id), condition(s) else { return nil }
            return s
        }
    }
}

/// Polls `probe` (an observable state, not a timer) until it gives a value, for at most `timeout`.
func poll<T>(_ what: String, timeout: Duration = .seconds(10), _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await probe() { return value }
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for \(what)")
            throw TimedOut(what: what)
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// The contents of a file an agent wrote, once it ends with a newline.
func completeLine(_ path: String) -> String? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasSuffix("\n") else { return nil }
    return text
}

/// The pid an agent wrote to `path` (`echo $$ > path`), once written.
func waitForPid(_ path: String) async throws -> pid_t {
    try await poll("pid file \(path)") {
        guard let text = completeLine(path) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The process no longer exists (reaped, or a zombie that only init can still reap).
func isGone(_ pid: pid_t) -> Bool {
    if kill(pid, 0) != 0 { return errno == ESRCH }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

/// The process was reaped: not even a zombie is left.
func isReaped(_ pid: pid_t) -> Bool {
    kill(pid, 0) != 0 && errno == ESRCH
}

extension ControlResponse {
    var failure: AmarreError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// An instance that runs `script` with `/bin/sh -c`.
func shell(_ id: String, _ script: String, env: [String: String] = [:]) -> InstanceConfig {
    InstanceConfig(id: id, agent: .command, env: env, command: ["/bin/sh", "-c", script])
}

/// Hosts that failed to stop, kept alive until the test process ends (see `HostHarness.with`).
final class Quarantine: @unchecked Sendable {  // `kept` is only touched under `lock`
    static let shared = Quarantine()
    private let lock = NSLock()
    private var kept: [any Sendable] = []

    func keep(_ value: any Sendable) {
        lock.lock()
        defer { lock.unlock() }
        kept.append(value)
    }
}

extension ControlResponse {
    /// The id of the summary a delete answers with.
    var deletedSessionID: SessionID? {
        guard case .sessionJSON(let json) = self else { return nil }
        return (try? json.decode(SessionSummary.self))?.id
    }
}
