import AmarreCore
import AmarreHost
import AmarreLogging
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

// Files and sockets this process makes (the database, its WAL, devices.json, the control
// socket) are its owner's alone unless it says otherwise.
umask(0o077)
AmarreLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
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
