import AmarreCore
import AmarreHost
import AmarreLogging
import AmarreMetrics
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

CommandLineInfo.handle(
    Array(CommandLine.arguments.dropFirst()), name: "amarre-host",
    usage: """
        Usage: amarre-host [--help | --version]

        amarre's session host: runs the agents, relays their records to WebSocket clients on
        AMARRE_SOCKET_DIR/host.sock (behind nginx), keeps sessions in AMARRE_STATE_DIR/amarre.sqlite,
        and answers amarre-api and `amarre` on AMARRE_STATE_DIR/run/control.sock (0600).
        Configured by the environment only (AMARRE_STATE_DIR, AMARRE_INSTANCES_JSON, AMARRE_AUTH,
        AMARRE_MAX_SESSIONS, AMARRE_LOG_LEVEL, AMARRE_LOG_FORMAT, …: SPEC.md §2).
        SIGTERM or SIGINT: stops every agent (SIGTERM, SIGKILL after AMARRE_KILL_GRACE_MS) and exits;
        running sessions come back at the next start.

        """)

// Files and sockets this process makes (the database, its WAL, devices.json, the control
// socket) are its owner's alone unless it says otherwise.
umask(0o077)
AmarreLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
AmarreMetrics.bootstrap()
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
