// amarre-api: the REST control plane, a FastCGI responder behind nginx.
// Reads the configuration, bootstraps logging and metrics, and serves until SIGTERM/SIGINT.
import AmarreAPI
import AmarreCore
import AmarreLogging
import AmarreMetrics
import Foundation
import Logging

CommandLineInfo.handle(
    Array(CommandLine.arguments.dropFirst()), name: "amarre-api",
    usage: """
        Usage: amarre-api [--help | --version]

        amarre's REST control plane: a FastCGI responder on AMARRE_SOCKET_DIR/api.sock (nginx
        passes REST requests to it); it asks amarre-host over AMARRE_STATE_DIR/run/control.sock.
        Configured by the environment only (AMARRE_STATE_DIR, AMARRE_AUTH, AMARRE_API_THREADS,
        AMARRE_BASE_PATH, AMARRE_METRICS_TOKEN, AMARRE_LOG_LEVEL, AMARRE_LOG_FORMAT, …: SPEC.md §2).
        Stops on SIGTERM or SIGINT after the requests in flight.

        """)

// Files and sockets this process makes are its owner's alone unless it says otherwise.
umask(0o077)

let configuration: AmarreConfiguration
do {
    // The instance list is the host's business (GET /instances asks it), so no binary probing here.
    configuration = try AmarreConfiguration.fromEnvironment(ProcessInfo.processInfo.environment, isExecutable: { _ in false })
} catch {
    FileHandle.standardError.write(Data("amarre-api: \(error.message)\n".utf8))
    exit(2)
}

AmarreLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
AmarreMetrics.bootstrap()
let logger = Logger(label: "amarre.api")

do {
    try FastCGIServer(configuration: configuration, logger: logger).run()
} catch {
    logger.critical("cannot start", metadata: ["error": "\(error.message)"])
    exit(1)
}
