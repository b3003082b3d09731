public import AmarreCore
import AmarreAuth
import AmarrePush
import AmarreStore
import Foundation
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle

/// amarre-host as a `Service`: binds the WebSocket and control sockets, runs until a
/// graceful shutdown, then stops every agent before returning.
public struct HostService: Service {
    public let configuration: AmarreConfiguration
    public let logger: Logger

    public init(configuration: AmarreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        HostMetrics.register()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        try Self.prepareRunDirectory(configuration)
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
                throw ConfigurationError("cannot read the notification state (\(configuration.vapidPath), \(configuration.pushPath)): \(error)")
            }
        }
        let configuration = self.configuration
        let logger = self.logger
        let sender = pushSender
        let registry = pushRegistry
        // Everything of the host is confined to `loop`: build it there.
        let (ws, control, boundHost) = try await loop.flatSubmit {
            let host = SessionHost(
                configuration: configuration, eventLoop: loop, logger: logger, store: store, credentials: credentials,
                pushSender: sender, pushRegistry: registry)
            host.restore(restored)
            let bound = NIOLoopBound(host, eventLoop: loop)
            return WebSocketServer.bind(host: host, path: configuration.hostSocketPath, group: loop)
                .and(ControlServer.bind(host: host, path: configuration.controlSocketPath, group: loop))
                .map { ($0.0, $0.1, bound) }
        }.get()
        // nginx connects to the WebSocket socket; the control socket grants everything (pairing,
        // tokens), so only its owner may use it.
        for (path, mode) in [(configuration.hostSocketPath, configuration.socketMode), (configuration.controlSocketPath, 0o600)] {
            guard chmod(path, mode_t(mode)) == 0 else {
                throw ConfigurationError("cannot set mode of \(path): \(String(cString: strerror(errno)))")
            }
        }
        logger.info(
            "amarre-host ready",
            metadata: [
                "auth": "\(configuration.auth.rawValue)",
                "socket.websocket": "\(configuration.hostSocketPath)",
                "socket.control": "\(configuration.controlSocketPath)",
                "instances": "\(configuration.instances.map(\.id).joined(separator: ","))",
            ])

        try? await gracefulShutdown()

        logger.info("amarre-host stopping")
        try? await control.close()
        try? await ws.close()
        try? await loop.flatSubmit { boundHost.value.stopAll() }.get()
        store?.flush()
        try? await pushSender?.shutdown()
        try? await pushGroup?.shutdownGracefully()
        unlink(configuration.hostSocketPath)
        unlink(configuration.controlSocketPath)
        try await group.shutdownGracefully()
        logger.info("amarre-host stopped")
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
