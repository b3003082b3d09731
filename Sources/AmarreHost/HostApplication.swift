public import AmarreCore
import AmarreAuth
import AmarrePush
import AmarreStore
import Foundation
public import Logging
public import NIOCore
public import NIOPosix

/// amarre-host, assembled: the directories, the store (with `AMARRE_DURABLE`, the default),
/// the paired devices, notifications, the `SessionHost` on its event loop with the sessions
/// the store restored, and the WebSocket and control sockets bound.
///
/// Built the same way by `amarre-host`'s `main` (through `HostService`) and by the tests
/// (like Hummingbird's `Application`): `start` it, use it, `stop` it.
public final class HostApplication: Sendable {
    public let configuration: AmarreConfiguration
    /// The one event loop everything of the host is confined to.
    public let eventLoop: any EventLoop
    /// The host, usable on `eventLoop` only.
    public let host: NIOLoopBound<SessionHost>
    /// The group of `eventLoop`, for clients a test connects.
    public let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let store: RecordStore?
    private let pushGroup: MultiThreadedEventLoopGroup?
    private let pushSender: PushSender?
    private let servers: [any Channel]

    private init(
        configuration: AmarreConfiguration, logger: Logger, group: MultiThreadedEventLoopGroup, host: NIOLoopBound<SessionHost>,
        store: RecordStore?, pushGroup: MultiThreadedEventLoopGroup?, pushSender: PushSender?, servers: [any Channel]
    ) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.eventLoop = host.eventLoop
        self.host = host
        self.store = store
        self.pushGroup = pushGroup
        self.pushSender = pushSender
        self.servers = servers
    }

    /// Prepares the state and socket directories, opens the store and restores its sessions,
    /// binds both sockets, and returns once they accept. `serverEnvironment`: what agents'
    /// environments are built from (the process's own by default).
    public static func start(
        configuration: AmarreConfiguration, logger: Logger, serverEnvironment: [String: String]? = nil
    ) async throws -> HostApplication {
        HostMetrics.register()
        try prepareRunDirectory(configuration)
        // A database made before umask 077 (or copied in) is tightened too; SQLite gives its
        // WAL and shared-memory files the database's mode.
        for suffix in ["", "-wal", "-shm"] where access(configuration.databasePath + suffix, F_OK) == 0 {
            _ = chmod(configuration.databasePath + suffix, 0o600)
        }
        let store: RecordStore? =
            configuration.durable
            ? try RecordStore(
                path: configuration.databasePath,
                retention: Retention(records: configuration.retainRecords, bytes: configuration.retainBytes),
                commitIntervalMs: configuration.commitIntervalMs, logger: logger)
            : nil
        let restored = try store?.loadSessions() ?? []
        let credentials = try DeviceRegistry.loadTable(configuration)
        // Notifications go out from a loop of their own: TLS and slow push services never
        // touch the relay's loop.
        let pushGroup = configuration.push ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        var pushSender: PushSender?
        var pushRegistry = PushRegistry()
        if let pushGroup {
            do {
                let keys = try VAPIDKeys.loadOrCreate(path: configuration.vapidPath)
                pushRegistry = try PushRegistry.load(configuration.pushPath)
                pushSender = PushSender(
                    group: pushGroup, keys: keys,
                    settings: PushSender.Settings(
                        expoURL: configuration.expoPushURL, ntfyURL: configuration.ntfyURL, ntfyToken: configuration.ntfyToken,
                        webhookURL: configuration.webhookURL, vapidSubject: configuration.effectiveVAPIDSubject),
                    logger: logger)
            } catch {
                try? await pushGroup.shutdownGracefully()
                throw ConfigurationError(
                    "cannot read the notification state (\(configuration.vapidPath), \(configuration.pushPath)): \(error)")
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let sender = pushSender
        let registry = pushRegistry
        do {
            // Everything of the host is confined to `loop`: build it there.
            let (ws, control, bound) = try await loop.flatSubmit {
                let host = SessionHost(
                    configuration: configuration, eventLoop: loop, logger: logger, store: store,
                    serverEnvironment: serverEnvironment, credentials: credentials, pushSender: sender,
                    pushRegistry: registry)
                host.restore(restored)
                let bound = NIOLoopBound(host, eventLoop: loop)
                return WebSocketServer.bind(host: host, path: configuration.hostSocketPath, group: loop)
                    .and(ControlServer.bind(host: host, path: configuration.controlSocketPath, group: loop))
                    .map { ($0.0, $0.1, bound) }
            }.get()
            // nginx connects to the WebSocket socket; the control socket grants everything
            // (pairing, tokens), so only its owner may use it.
            for (path, mode) in [(configuration.hostSocketPath, configuration.socketMode), (configuration.controlSocketPath, 0o600)] {
                guard chmod(path, mode_t(mode)) == 0 else {
                    throw ConfigurationError("cannot set mode of \(path): \(String(cString: strerror(errno)))")
                }
            }
            return HostApplication(
                configuration: configuration, logger: logger, group: group, host: bound, store: store, pushGroup: pushGroup,
                pushSender: sender, servers: [control, ws])
        } catch {
            try? await group.shutdownGracefully()
            try? await pushGroup?.shutdownGracefully()
            throw error
        }
    }

    /// Stops accepting, stops every agent (SIGTERM, SIGKILL after the grace), commits what the
    /// store holds, and releases the loops and the sockets' files. `within`: the longest wait for
    /// the agents; past it the loops are still released and the error thrown.
    public func stop(within: TimeAmount? = nil) async throws {
        for server in servers { try? await server.close() }
        var failure: (any Error)?
        do {
            try await stopAgents(within: within)
        } catch {
            failure = error
        }
        store?.flush()
        try? await pushSender?.shutdown()
        try? await pushGroup?.shutdownGracefully()
        unlink(configuration.hostSocketPath)
        unlink(configuration.controlSocketPath)
        if failure == nil { try await group.shutdownGracefully() }
        if let failure { throw failure }
    }

    /// Sends `request` to the host as amarre-api would.
    public func handle(_ request: ControlRequest) async throws -> ControlResponse {
        let host = self.host
        return try await eventLoop.submit { host.value.handle(request) }.get()
    }

    /// Stops every session's agent (as at shutdown: they come back at the next start),
    /// waiting at most `within`; the sockets stay open.
    public func stopAgents(within: TimeAmount?) async throws {
        let host = self.host
        let loop = eventLoop
        let promise = loop.makePromise(of: Void.self)
        try await loop.submit {
            let timeout = within.map { limit in
                loop.scheduleTask(in: limit) { promise.fail(HostApplicationError.stopTimedOut(limit)) }
            }
            host.value.stopAll().whenComplete { result in
                timeout?.cancel()
                promise.completeWith(result)
            }
        }.get()
        try await promise.futureResult.get()
    }

    /// Creates the state, run and socket directories; checks socket paths fit in `sun_path`.
    ///
    /// The state directory (database, devices, logs) and `run/` (the control socket) are the
    /// owner's alone: 0700, tightened if they were looser. The socket directory is made 0700
    /// when missing and otherwise left as the owner set it (e.g. 0750 for nginx's group).
    static func prepareRunDirectory(_ configuration: AmarreConfiguration) throws {
        for path in [configuration.hostSocketPath, configuration.controlSocketPath, configuration.apiSocketPath]
        where path.utf8.count >= 108 {
            throw ConfigurationError("socket path too long for a Unix socket (max 107 bytes): \(path); use a shorter AMARRE_STATE_DIR")
        }
        for (directory, enforce) in [(configuration.stateDir, true), (configuration.runDir, true), (configuration.socketDir, false)] {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ConfigurationError("cannot create \(directory): \(error.localizedDescription)")
            }
            if enforce, chmod(directory, 0o700) != 0 {
                throw ConfigurationError("cannot set mode 0700 on \(directory): \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// Why `HostApplication.stop` failed.
public enum HostApplicationError: Error, CustomStringConvertible {
    /// The agents had not all stopped within the time given.
    case stopTimedOut(TimeAmount)

    public var description: String {
        switch self {
        case .stopTimedOut(let limit): "the agents did not stop within \(limit.nanoseconds / 1_000_000) ms"
        }
    }
}
