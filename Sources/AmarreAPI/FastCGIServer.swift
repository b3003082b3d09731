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
/// `configuration.apiThreads` OS threads (never the Swift concurrency pool: libfcgi's reads
/// block) serve requests, each with its own `FCGX_Request` at a fixed address and its own
/// persistent `HostClient`. `stop()` wakes them, lets requests in flight finish, closes every
/// connection and removes the socket.
///
/// Connections are not tied to threads: the listening socket and every connection waiting
/// for its next request sit in one epoll set (`EPOLLONESHOT`), and whichever thread is free
/// takes the next ready one, serves one request and puts the connection back. So nginx may
/// keep any number of FastCGI connections open (`fastcgi_keep_conn on` with an upstream
/// `keepalive`, from any number of nginx workers) without ever pinning a thread, and the
/// threads bound only how many requests run at once (SPEC §8). A connection silent for
/// `idleTimeout` is closed.
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
    /// Connections open at once, as the highest descriptor number a connection may have: one
    /// with a higher number is closed at once (and logged). Bounds the idle table and sweep.
    static let connectionLimit = 4096
    /// Pause after an accept or epoll error other than shutdown (e.g. `EMFILE`), so a
    /// persistent error does not spin a core.
    static let acceptErrorPause: Duration = .milliseconds(100)

    public let configuration: AmarreConfiguration
    private let logger: Logger
    private let handler: APIHandler
    private let phase = Mutex(Phase.idle)
    private let stopping = Atomic<Bool>(false)
    private let workerThreads = DispatchGroup()
    /// The epoll set the threads wait on, and the pipe whose closed write end wakes them all.
    private let poller: Poller

    private enum Phase {
        case idle
        case running(UnixListener)
        case stopped
    }

    /// Longest a FastCGI connection may stay silent (before or between its requests, or
    /// within a body) and a write may block.
    public static let defaultIdleTimeout: Duration = .seconds(10)
    let idleTimeout: Duration

    public init(configuration: AmarreConfiguration, logger: Logger, idleTimeout: Duration = FastCGIServer.defaultIdleTimeout) {
        self.configuration = configuration
        self.logger = logger
        self.handler = APIHandler(configuration: configuration, logger: logger)
        self.idleTimeout = idleTimeout
        self.poller = Poller(capacity: Self.connectionLimit)
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

    /// Binds the socket and starts the threads; returns once the socket accepts.
    public func start() throws(StartupError) {
        try Self.initializeLibrary()
        // A client that goes away mid-answer must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        let listener = try phase.withLock { phase throws(StartupError) -> UnixListener in
            guard case .idle = phase else { throw StartupError("the FastCGI server was already started") }
            try poller.check()
            try UnixListener.checkLength(configuration.apiSocketPath)
            do {
                try FileManager.default.createDirectory(
                    atPath: configuration.socketDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StartupError("cannot create the socket directory \(configuration.socketDir): \(error.localizedDescription)")
            }
            let listener = try UnixListener.bind(
                path: configuration.apiSocketPath, mode: configuration.socketMode, backlog: Self.listenBacklog)
            // Accepted until EAGAIN by the thread that got the listener's readiness.
            guard fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) | O_NONBLOCK) == 0, poller.add(listener.fd) else {
                let error = StartupError("cannot watch \(listener.path): \(UnixSocket.describe(errno: errno))")
                listener.closeAndRemove()
                throw error
            }
            phase = .running(listener)
            return listener
        }
        for index in 0..<configuration.apiThreads {
            workerThreads.enter()
            let thread = Thread { [self] in
                workerLoop(listenFD: listener.fd)
                workerThreads.leave()
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

    /// Stops accepting, waits for requests in flight, closes every connection, and closes and
    /// removes the socket. Returns at once if the server is not running.
    public func stop() {
        let listener: UnixListener? = phase.withLock { phase in
            guard case .running(let listener) = phase else { return nil }
            phase = .stopped
            return listener
        }
        guard let listener else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        listener.shutdown()
        poller.wakeAll()
        workerThreads.wait()
        poller.closeWaiting()
        listener.closeAndRemove()
        logger.info("stopped", metadata: ["api.socket": "\(listener.path)"])
    }

    deinit {
        poller.close()
    }

    private static func initializeLibrary() throws(StartupError) {
        guard libfcgiInitStatus == 0 else { throw StartupError("libfcgi failed to initialise (FCGX_Init returned \(libfcgiInitStatus))") }
    }

    // MARK: - Threads

    private func workerLoop(listenFD: Int32) {
        // libfcgi's streams point back into the request: it must not move while in use.
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        request.initialize(to: FCGX_Request())
        defer {
            request.deinitialize(count: 1)
            request.deallocate()
        }
        // libfcgi is given no listening socket: connections are accepted here, so each gets its
        // timeouts before libfcgi reads from it (libfcgi's own accept sets none).
        guard FCGX_InitRequest(request, -1, 0) == 0 else {
            logger.error("FCGX_InitRequest failed")
            return
        }
        let host = HostClient(socketPath: configuration.controlSocketPath, logger: logger)
        defer { host.disconnect() }
        // Idle threads wake this often, so silent connections are closed even with no traffic.
        let sweepEvery = max(idleTimeout / 2, .milliseconds(10))
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let ready = poller.wait(timeout: sweepEvery)
            // A connection this thread was just woken for is taken before the sweep looks, so a
            // request that arrives as its idle time runs out is served, not closed unread.
            var claimed: Int32?
            if case .ready(let fd) = ready, fd != listenFD {
                guard poller.claim(fd) else { continue }  // the sweep closed it first: not ours
                claimed = fd
            }
            poller.sweepIfDue(now: Self.now(), idleNanoseconds: Self.nanoseconds(idleTimeout), every: Self.nanoseconds(sweepEvery))
            if let claimed {
                serveOne(on: claimed, request: request, host: host)
                continue
            }
            switch ready {
            case .timeout, .interrupted:
                continue
            case .failed(let code):
                logger.warning("epoll_wait failed", metadata: ["error": "\(UnixSocket.describe(errno: code))"])
                Self.pause()
            case .wake:
                return
            case .ready:
                acceptAll(listenFD)
            }
        }
    }

    /// Accepts every pending connection and puts each in the set to wait for its request, so a
    /// connection that sends nothing never holds a thread.
    private func acceptAll(_ listenFD: Int32) {
        defer { if !stopping.load(ordering: .sequentiallyConsistent) { poller.rearm(listenFD) } }
        while true {
            let connection = accept(listenFD, nil, nil)
            if connection < 0 {
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK || stopping.load(ordering: .sequentiallyConsistent) { return }
                if code == EINTR || code == ECONNABORTED { continue }
                logger.warning("FastCGI accept failed", metadata: ["error": "\(UnixSocket.describe(errno: code))"])
                Self.pause()
                return
            }
            // amarre-api runs git (Foundation's Process): a connection must not reach it.
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            guard Int(connection) < Self.connectionLimit else {
                logger.warning(
                    "FastCGI connection refused: too many open", metadata: ["api.connection_limit": "\(Self.connectionLimit)"])
                close(connection)
                continue
            }
            guard UnixSocket.setTimeouts(connection, idleTimeout), poller.add(connection, waitingSince: Self.now()) else {
                close(connection)
                continue
            }
        }
    }

    /// Reads one request from `fd` (ready), answers it, and puts a kept connection back in
    /// the set; libfcgi closes one nginx did not ask to keep, or that failed.
    private func serveOne(on fd: Int32, request: UnsafeMutablePointer<FCGX_Request>, host: HostClient) {
        request.pointee.ipcFd = fd
        // FCGX_Accept_r reads the request from `ipcFd`; FCGX_Finish_r keeps the connection open
        // when nginx asked (FastCGI's FCGI_KEEP_CONN, `fastcgi_keep_conn on`).
        request.pointee.keepConnection = 1
        // A connection that fails is closed at once, not with libfcgi's lingering close.
        request.pointee.detached = 1
        guard FCGX_Accept_r(request) >= 0 else {
            // nginx closed it, it timed out, or it is not FastCGI: libfcgi has closed it.
            logger.trace("FastCGI connection closed")
            return
        }
        serve(request, host: host)
        guard request.pointee.keepConnection != 0, !stopping.load(ordering: .sequentiallyConsistent) else {
            // Closed now even when nginx asked to keep it.
            request.pointee.keepConnection = 0
            // The request was read to its end, so the connection can be closed at once:
            // without this libfcgi half-closes and waits for nginx to close first, a round
            // trip per request that caps the control plane's rate.
            FCGX_Detach(request)
            FCGX_Finish_r(request)
            return
        }
        // Flushes the answer; the connection stays open unless writing failed.
        FCGX_Finish_r(request)
        let kept = request.pointee.ipcFd
        // This request forgets it: the next one this thread serves may be on any connection.
        request.pointee.ipcFd = -1
        guard kept >= 0 else { return }
        if !poller.putBack(kept, waitingSince: Self.now()) { close(kept) }
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    private static func pause() {
        let (seconds, attoseconds) = acceptErrorPause.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
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
