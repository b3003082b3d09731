public import AmarreCore
public import Logging
public import ServiceLifecycle

/// amarre-host as a `Service`: starts the `HostApplication`, runs until a graceful shutdown,
/// then stops every agent before returning.
public struct HostService: Service {
    public let configuration: AmarreConfiguration
    public let logger: Logger

    public init(configuration: AmarreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let application = try await HostApplication.start(configuration: configuration, logger: logger)
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
        try await application.stop()
        logger.info("amarre-host stopped")
    }
}
