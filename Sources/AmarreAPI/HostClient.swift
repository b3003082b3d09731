public import AmarreCore
import Glibc
public import Logging

/// A blocking client of the session host's control socket: one JSON line out, one JSON
/// line back (`ControlProtocol`).
///
/// Each FastCGI accept thread owns one and keeps its connection open between requests.
/// Not `Sendable`: it is created, used and closed on that one thread.
public final class HostClient: ControlChannel {
    /// Longest wait for the host's answer to one request (also bounds connect and write).
    public static let defaultTimeout: Duration = .seconds(10)
    /// Bytes read from the socket at a time.
    static let readChunkBytes = 64 << 10

    public let socketPath: String
    public let timeout: Duration
    /// Longest answer line accepted, newline excluded.
    public let maxMessageBytes: Int
    private let logger: Logger
    private var fd: Int32 = -1

    public init(
        socketPath: String, logger: Logger, timeout: Duration = HostClient.defaultTimeout,
        maxMessageBytes: Int = ControlProtocol.maxMessageBytes
    ) {
        self.socketPath = socketPath
        self.logger = logger
        self.timeout = timeout
        self.maxMessageBytes = maxMessageBytes
    }

    deinit { disconnect() }

    public var isConnected: Bool { fd >= 0 }

    public func exchange(_ request: ControlRequest) throws(AmarreError) -> ControlResponse {
        let line: [UInt8]
        do {
            line = try ControlProtocol.encode(request)
        } catch {
            logger.error("cannot encode a control request", metadata: ["error": "\(error)"])
            throw AmarreError(.internalError)
        }
        guard line.count <= maxMessageBytes + 1 else {
            logger.warning("control request over the size limit", metadata: ["control.bytes": "\(line.count)"])
            throw AmarreError(.payloadTooLarge)
        }
        let reused = isConnected
        do {
            return try attempt(line)
        } catch {
            disconnect()
            // A kept connection the host has closed (it restarted) fails before the host read
            // the request, so sending it again on a fresh connection cannot run it twice.
            if reused && error.hostDidNotReadRequest {
                logger.debug("control connection was closed, reconnecting", metadata: ["error": "\(error)"])
                do {
                    return try attempt(line)
                } catch let retryError {
                    disconnect()
                    throw unavailable(retryError)
                }
            }
            throw unavailable(error)
        }
    }

    /// Closes the connection, if any.
    public func disconnect() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    private func unavailable(_ failure: ExchangeFailure) -> AmarreError {
        logger.warning(
            "session host unavailable",
            metadata: ["control.socket": "\(socketPath)", "error": "\(failure)"])
        return AmarreError(.hostUnavailable)
    }

    private func attempt(_ line: [UInt8]) throws(ExchangeFailure) -> ControlResponse {
        if fd < 0 { try connect() }
        try send(line)
        let answer = try receiveLine()
        do {
            return try ControlProtocol.decode(ControlResponse.self, from: answer)
        } catch {
            throw .malformed("\(error)")
        }
    }

    private func connect() throws(ExchangeFailure) {
        let s = UnixSocket.makeStreamSocket()
        guard s >= 0 else { throw .connect(errno) }
        guard UnixSocket.setTimeouts(s, timeout) else {
            let code = errno
            close(s)
            throw .connect(code)
        }
        let rc = UnixSocket.withAddress(socketPath) { address, length in
            Glibc.connect(s, address, length) == 0 ? 0 : errno
        }
        guard let rc else {
            close(s)
            throw .connect(ENAMETOOLONG)
        }
        guard rc == 0 else {
            close(s)
            throw .connect(rc)
        }
        fd = s
    }

    private func send(_ bytes: [UInt8]) throws(ExchangeFailure) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + sent }, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw errno == EAGAIN ? .timedOut : .write(errno)
            }
            sent += n
        }
    }

    /// Reads one answer line (without its newline).
    private func receiveLine() throws(ExchangeFailure) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var line = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: HostClient.readChunkBytes)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN { throw .timedOut }
                throw line.isEmpty && code == ECONNRESET ? .resetBeforeAnswer : .read(code)
            }
            if n == 0 { throw .closed(afterBytes: line.count) }
            if let newline = chunk[..<n].firstIndex(of: 0x0A) {
                // The host answers each request with exactly one line and sends nothing
                // unasked, so bytes after the newline mean the stream is out of step.
                guard newline == n - 1 else { throw .malformed("data after the answer line") }
                line += chunk[..<newline]
                guard line.count <= maxMessageBytes else { throw .tooLong }
                return line
            }
            line += chunk[..<n]
            guard line.count <= maxMessageBytes else { throw .tooLong }
            guard ContinuousClock.now < deadline else { throw .timedOut }
        }
    }
}
