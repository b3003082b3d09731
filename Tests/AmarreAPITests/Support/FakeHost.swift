import AmarreCore
import Dispatch
import Foundation
import Glibc
import Synchronization

/// A stand-in for amarre-host's control socket: a real Unix socket, one OS thread per
/// connection, answering each `ControlRequest` line with the closure's `ControlResponse` line.
final class FakeHost: Sendable {
    let path: String
    private let listenFD: Int32
    private let answer: @Sendable (ControlRequest) -> ControlResponse
    /// Close each connection after one answer, like a host that restarted between requests.
    private let closeAfterAnswer: Bool
    private let state = Mutex(State())
    private let threads = DispatchGroup()

    private struct State {
        var requests: [ControlRequest] = []
        var connections = 0
        var open: Set<Int32> = []
    }

    /// Binds at `path` and accepts until `stop()`; the socket exists when this returns.
    init(path: String, closeAfterAnswer: Bool = false, answer: @escaping @Sendable (ControlRequest) -> ControlResponse) throws {
        self.path = path
        self.answer = answer
        self.closeAfterAnswer = closeAfterAnswer
        listenFD = try TestSocket.listen(path)
        threads.enter()
        Thread { [self] in
            acceptLoop()
            threads.leave()
        }.start()
    }

    var requests: [ControlRequest] { state.withLock { $0.requests } }
    var connections: Int { state.withLock { $0.connections } }

    func stop() {
        shutdown(listenFD, Int32(SHUT_RDWR))
        state.withLock { for fd in $0.open { shutdown(fd, Int32(SHUT_RDWR)) } }
        threads.wait()
        close(listenFD)
        unlink(path)
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return  // shut down by stop()
            }
            state.withLock {
                $0.connections += 1
                $0.open.insert(fd)
            }
            threads.enter()
            Thread { [self] in
                serve(fd)
                state.withLock { _ = $0.open.remove(fd) }
                close(fd)
                threads.leave()
            }.start()
        }
    }

    private func serve(_ fd: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<newline]
                buffer.removeSubrange(...newline)
                let response: ControlResponse
                do {
                    let request = try ControlProtocol.decode(ControlRequest.self, from: line)
                    state.withLock { $0.requests.append(request) }
                    response = answer(request)
                } catch {
                    response = .failure(AmarreError(.badRequest, detail: "fake host: \(error)"))
                }
                do {
                    try TestSocket.writeAll(fd, try ControlProtocol.encode(response))
                } catch {
                    return  // the API side went away
                }
                if closeAfterAnswer { return }
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            buffer += chunk[..<n]
        }
    }
}
