import AmarreCore
import AmarreHost
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["AMARRE_LOG_LEVEL"] ?? "") ?? .info
    return handler
}
let logger = Logger(label: "amarre.host")

let configuration: AmarreConfiguration
do {
    configuration = try AmarreConfiguration.fromEnvironment(
        ProcessInfo.processInfo.environment, isExecutable: HostExecutables.isExecutable)
} catch {
    FileHandle.standardError.write(Data("amarre-host: configuration error: \(error)\n".utf8))
    exit(2)
}

let group = ServiceGroup(
    services: [HostService(configuration: HostExecutables.withDemoAgent(configuration), logger: logger)],
    gracefulShutdownSignals: [.sigterm, .sigint],
    logger: logger)
do {
    try await group.run()
} catch {
    logger.critical("amarre-host failed", metadata: ["error": "\(error)"])
    exit(1)
}
