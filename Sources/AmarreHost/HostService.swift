public import AmarreCore
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
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        try Self.prepareRunDirectory(configuration)
        let store: RecordStore? =
            configuration.durable
            ? try RecordStore(
                path: configuration.databasePath,
                retention: Retention(records: configuration.retainRecords, bytes: configuration.retainBytes),
                commitIntervalMs: configuration.commitIntervalMs, logger: logger)
            : nil
        let restored = try store?.loadSessions() ?? []
        let configuration = self.configuration
        let logger = self.logger
        // Everything of the host is confined to `loop`: build it there.
        let (ws, control, boundHost) = try await loop.flatSubmit {
            let host = SessionHost(configuration: configuration, eventLoop: loop, logger: logger, store: store)
            host.restore(restored)
            let bound = NIOLoopBound(host, eventLoop: loop)
            return WebSocketServer.bind(host: host, path: configuration.hostSocketPath, group: loop)
                .and(ControlServer.bind(host: host, path: configuration.controlSocketPath, group: loop))
                .map { ($0.0, $0.1, bound) }
        }.get()
        for path in [configuration.hostSocketPath, configuration.controlSocketPath] {
            guard chmod(path, mode_t(configuration.socketMode)) == 0 else {
                throw ConfigurationError("cannot set mode of \(path): \(String(cString: strerror(errno)))")
            }
        }
        logger.info(
            "amarre-host ready",
            metadata: [
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
        unlink(configuration.hostSocketPath)
        unlink(configuration.controlSocketPath)
        try await group.shutdownGracefully()
        logger.info("amarre-host stopped")
    }

    /// Creates the state and run directories; checks socket paths fit in `sun_path`.
    static func prepareRunDirectory(_ configuration: AmarreConfiguration) throws {
        for path in [configuration.hostSocketPath, configuration.controlSocketPath, configuration.apiSocketPath]
        where path.utf8.count >= 108 {
            throw ConfigurationError("socket path too long for a Unix socket (max 107 bytes): \(path); use a shorter AMARRE_STATE_DIR")
        }
        do {
            try FileManager.default.createDirectory(
                atPath: configuration.runDir, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755])
        } catch {
            throw ConfigurationError("cannot create \(configuration.runDir): \(error.localizedDescription)")
        }
    }
}
