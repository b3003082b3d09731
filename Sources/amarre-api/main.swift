// amarre-api: the REST control plane, a FastCGI responder behind nginx.
// Reads the configuration, bootstraps logging, and serves until SIGTERM/SIGINT.
import AmarreAPI
import AmarreCore
import AmarreLogging
import Foundation
import Logging

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
let logger = Logger(label: "amarre.api")

do {
    try FastCGIServer(configuration: configuration, logger: logger).run()
} catch {
    logger.critical("cannot start", metadata: ["error": "\(error.message)"])
    exit(1)
}
