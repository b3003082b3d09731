public import AmarreCore
import CFastCGI
import Dispatch
import Foundation
import Glibc
public import Logging
import Synchronization

/// `FCGX_Init` runs exactly once per process: a global's initialiser is lazy and thread-safe.
private let libfcgiInitStatus: Int32 = FCGX_Init()

/// amarre-api's FastCGI responder on libfcgi.
///
/// `configuration.apiThreads` OS threads (never the Swift concurrency pool: `FCGX_Accept_r`
/// blocks) accept on one Unix socket, each with its own `FCGX_Request` at a fixed address
/// and its own persistent `HostClient`. `stop()` shuts the listening socket down so blocked
/// accepts return, lets requests in flight finish, and removes the socket file.
///
/// nginx may keep FastCGI connections open (`fastcgi_keep_conn on` with an upstream
/// `keepalive`): a thread serves one connection at a time, request after request, so nginx's
/// idle connections (workers × keepalive) must stay fewer than the threads (SPEC §8); an idle
/// one is closed after `idleTimeout`.
public final class FastCGIServer: Sendable {
    /// Largest request body read; a larger one gets 413 `payload_too_large`.
    public static let maxBodyBytes = 1 << 20
    /// Body bytes past `maxBodyBytes` read and dropped so the 413 reaches the client; past
    /// this the connection is just closed after the answer.
    static let maxDrainBytes = 16 << 20
    /// Bytes asked from libfcgi per `FCGX_GetStr`.
    static let bodyChunkBytes = 16 << 10
    /// Pending connections the kernel queues for the accept threads.
    static let listenBacklog: Int32 = 128
    /// Pause after an accept error other than shutdown (e.g. `EMFILE`), so a persistent
    /// error does not spin a core.
    static let acceptErrorPause: Duration = .milliseconds(100)

    public let configuration: AmarreConfiguration
    private let logger: Logger
    private let handler: APIHandler
    private let phase = Mutex(Phase.idle)
    private let stopping = Atomic<Bool>(false)
    private let acceptThreads = DispatchGroup()
    /// Kept-alive connections waiting for their next request: `stop()` shuts their reading
    /// side, so a thread waiting on one returns at once instead of after the idle timeout.
    private let idleConnections = Mutex(Set<Int32>())

    private enum Phase {
        case idle
        case running(UnixListener)
        case stopped
    }

    /// Longest a FastCGI connection may stay silent (before its request, or within its body)
    /// and a write may block, so a client that connects and sends nothing cannot pin an
    /// accept thread.
    public static let defaultIdleTimeout: Duration = .seconds(10)
    let idleTimeout: Duration

    public init(configuration: AmarreConfiguration, logger: Logger, idleTimeout: Duration = FastCGIServer.defaultIdleTimeout) {
        self.configuration = configuration
        self.logger = logger
        self.handler = APIHandler(configuration: configuration, logger: logger)
        self.idleTimeout = idleTimeout
    }

    /// Serves until SIGTERM or SIGINT, then stops gracefully and returns.
    public func run() throws(StartupError) {
        try Self.initializeLibrary()
        // After FCGX_Init, whose SIGTERM handler only sets a flag that threads blocked in
        // accept never see: the signals are ours again, delivered through dispatch.
        let received = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "amarre.api.signals")
        var sources = [any DispatchSourceSignal]()
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [logger] in
                logger.info("stop signal received", metadata: ["signal": "\(number == SIGTERM ? "SIGTERM" : "SIGINT")"])
                received.signal()
            }
            source.resume()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }

        try start()
        received.wait()
        stop()
    }

    /// Binds the socket and starts the accept threads; returns once the socket accepts.
    public func start() throws(StartupError) {
        try Self.initializeLibrary()
        // A client that goes away mid-answer must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        let listener = try phase.withLock { phase throws(StartupError) -> UnixListener in
            guard case .idle = phase else { throw StartupError("the FastCGI server was already started") }
            try UnixListener.checkLength(configuration.apiSocketPath)
            do {
                try FileManager.default.createDirectory(
                    atPath: configuration.socketDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StartupError("cannot create the socket directory \(configuration.socketDir): \(error.localizedDescription)")
            }
            let listener = try UnixListener.bind(
                path: configuration.apiSocketPath, mode: configuration.socketMode, backlog: Self.listenBacklog)
            phase = .running(listener)
            return listener
        }
        for index in 0..<configuration.apiThreads {
            acceptThreads.enter()
            let thread = Thread { [self] in
                acceptLoop(listenFD: listener.fd)
                acceptThreads.leave()
            }
            thread.name = "amarre-api-\(index)"
            thread.start()
        }
        logger.info(
            "listening",
            metadata: [
                "api.socket": "\(listener.path)", "api.threads": "\(configuration.apiThreads)",
                "control.socket": "\(configuration.controlSocketPath)",
            ])
    }

    /// Stops accepting, waits for requests in flight, closes and removes the socket.
    /// Returns at once if the server is not running.
    public func stop() {
        let listener: UnixListener? = phase.withLock { phase in
            guard case .running(let listener) = phase else { return nil }
            phase = .stopped
            return listener
        }
        guard let listener else { return }
        stopping.store(true, ordering: .releasing)
        listener.shutdown()
        idleConnections.withLock { idle in
            for fd in idle { _ = Glibc.shutdown(fd, Int32(SHUT_RD)) }
        }
        acceptThreads.wait()
        listener.closeAndRemove()
        logger.info("stopped", metadata: ["api.socket": "\(listener.path)"])
    }

    private static func initializeLibrary() throws(StartupError) {
        guard libfcgiInitStatus == 0 else { throw StartupError("libfcgi failed to initialise (FCGX_Init returned \(libfcgiInitStatus))") }
    }

    // MARK: - Accept threads

    private func acceptLoop(listenFD: Int32) {
        // libfcgi's streams point back into the request: it must not move while in use.
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        request.initialize(to: FCGX_Request())
        defer {
            request.deinitialize(count: 1)
            request.deallocate()
        }
        // libfcgi is given no listening socket: connections are accepted here, so each gets its
        // timeouts before libfcgi reads from it (libfcgi's own accept sets none, and a peer
        // that connects and sends nothing would hold the thread for ever).
        guard FCGX_InitRequest(request, -1, 0) == 0 else {
            logger.error("FCGX_InitRequest failed")
            return
        }
        let host = HostClient(socketPath: configuration.controlSocketPath, logger: logger)
        defer { host.disconnect() }
        while true {
            // amarre-api never forks: no close-on-exec race to guard against.
            let connection = accept(listenFD, nil, nil)
            if connection < 0 {
                let code = errno
                if stopping.load(ordering: .acquiring) { break }
                if code == EINTR || code == ECONNABORTED { continue }
                logger.warning("FastCGI accept failed", metadata: ["error": "\(UnixSocket.describe(errno: code))"])
                let (seconds, attoseconds) = Self.acceptErrorPause.components
                Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
                continue
            }
            guard UnixSocket.setTimeouts(connection, idleTimeout) else {
                close(connection)
                continue
            }
            // One connection, one request after another while nginx keeps it (FastCGI's
            // FCGI_KEEP_CONN, `fastcgi_keep_conn on`), until it closes it or it is idle for
            // `idleTimeout`.
            request.pointee.ipcFd = connection
            // FCGX_Accept_r first finishes the previous request (closing the connection unless
            // nginx asked to keep it), then reads the next request from `ipcFd`.
            request.pointee.keepConnection = 1
            // A connection that times out is closed at once, not with libfcgi's lingering close.
            request.pointee.detached = 1
            var first = true
            while true {
                // Between requests of a kept connection the thread only waits: stop() may cut that.
                if !first {
                    let fd = request.pointee.ipcFd
                    guard fd >= 0, idleConnections.withLock({ idle in
                        guard !stopping.load(ordering: .acquiring) else { return false }
                        idle.insert(fd)
                        return true
                    }) else {
                        FCGX_Detach(request)
                        request.pointee.keepConnection = 0
                        FCGX_Finish_r(request)
                        break
                    }
                }
                let waitingFD = first ? -1 : request.pointee.ipcFd
                let status = FCGX_Accept_r(request)
                if waitingFD >= 0 { _ = idleConnections.withLock { $0.remove(waitingFD) } }
                first = false
                if status < 0 {
                    // No request within the idle timeout, nginx closed it, or not FastCGI:
                    // libfcgi has closed it.
                    logger.trace("FastCGI connection closed", metadata: ["error": "\(UnixSocket.describe(errno: -status))"])
                    break
                }
                serve(request, host: host)
                guard request.pointee.keepConnection != 0, !stopping.load(ordering: .acquiring) else {
                    // Closed now even when nginx asked to keep it.
                    request.pointee.keepConnection = 0
                    // The request was read to its end, so the connection can be closed at once:
                    // without this libfcgi half-closes and waits for nginx to close first, a
                    // round trip per request that caps the control plane's rate.
                    FCGX_Detach(request)
                    // Flushes the answer and closes the connection now, not at the next accept.
                    FCGX_Finish_r(request)
                    break
                }
                // Flushes the answer now; the connection stays open for the next request.
                FCGX_Finish_r(request)
                if request.pointee.ipcFd < 0 { break }
            }
        }
        // FCGX_Finish_r (or the failed FCGX_Accept_r) has freed the request's streams and
        // parameters; the listening socket is the server's.
    }

    private func serve(_ request: UnsafeMutablePointer<FCGX_Request>, host: HostClient) {
        let envp = request.pointee.envp
        // Each parameter is copied at once: libfcgi frees them at FCGX_Finish_r.
        var httpRequest = HTTPRequest(parameters: { name in FCGX_GetParam(name, envp).map { String(cString: $0) } })
        var logger = self.logger
        if let id = httpRequest.requestID { logger[metadataKey: "request.id"] = "\(id)" }
        var response: HTTPResponse
        // Only a caller with credentials may send a large body: anyone else is held to 1 MiB.
        let routeLimit = Self.bodyLimit(path: httpRequest.path)
        let limit = routeLimit > Self.maxBodyBytes && !handler.mayReadLargeBody(httpRequest) ? Self.maxBodyBytes : routeLimit
        if let body = readBody(request.pointee.in, limit: limit) {
            httpRequest.body = body
            response = handler.respond(to: httpRequest, host: host, logger: logger)
        } else {
            logger.notice(
                "request body over the limit",
                metadata: ["http.path": "\(httpRequest.path)", "http.limit": "\(limit)"])
            // Held to the small limit for want of credentials: that is the answer, not the size.
            response = limit < routeLimit
                ? HTTPResponse(failure: APIError(.unauthorized))
                : HTTPResponse(failure: APIError(AmarreError(.payloadTooLarge, detail: "request body over \(limit) bytes")))
        }
        if let id = httpRequest.requestID { response.headers.append(.init("X-Request-Id", id)) }
        let written = write(response.cgiBytes(includeBody: httpRequest.method != .head), to: request.pointee.out)
        APIMetrics.counted(httpRequest, status: response.status)
        logger.debug(
            "answered",
            metadata: [
                "http.method": "\(httpRequest.method)", "http.path": "\(httpRequest.path)",
                "http.status": "\(response.status)",
            ])
        if !written {
            logger.debug("FastCGI client went away before the answer was written", metadata: ["http.path": "\(httpRequest.path)"])
        }
    }

    /// The largest body taken at `path`: `PromptRequest.maxBodyBytes` for a prompt (images),
    /// `maxBodyBytes` elsewhere.
    static func bodyLimit(path: String) -> Int {
        path.hasSuffix("/prompt") || path.hasSuffix("/prompt/") ? PromptRequest.maxBodyBytes : maxBodyBytes
    }

    /// The request body, or nil when it is over `limit` (the rest is drained, bounded).
    private func readBody(_ stream: UnsafeMutablePointer<FCGX_Stream>?, limit: Int) -> [UInt8]? {
        var body = [UInt8]()
        var total = 0
        var chunk = [UInt8](repeating: 0, count: Self.bodyChunkBytes)
        while total <= limit + Self.maxDrainBytes {
            let count = Int(chunk.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { FCGX_GetStr($0.baseAddress, Int32($0.count), stream) }
            })
            guard count > 0 else { break }
            total += count
            if total <= limit { body += chunk[..<count] }
        }
        return total <= limit ? body : nil
    }

    /// Writes `bytes` to a FastCGI stream with `FCGX_PutStr` (never the variadic `FPrintF`).
    private func write(_ bytes: [UInt8], to stream: UnsafeMutablePointer<FCGX_Stream>?) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { FCGX_PutStr($0.baseAddress, Int32($0.count), stream) }
        } == bytes.count
    }
}
