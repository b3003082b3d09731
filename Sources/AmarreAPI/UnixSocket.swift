import Glibc

/// Small helpers shared by the listening socket and the host client.
enum UnixSocket {
    /// Bytes of `sun_path`, the terminating NUL included: a path must be shorter.
    static let pathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    /// Calls `body` with a `sockaddr_un` for `path`; nil when the path does not fit or has a NUL.
    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < pathCapacity, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// A new stream socket, close-on-exec; -1 and `errno` on failure.
    static func makeStreamSocket() -> Int32 {
        socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// Sets `SO_RCVTIMEO` and `SO_SNDTIMEO` (the latter also bounds `connect`).
    static func setTimeouts(_ fd: Int32, _ timeout: Duration) -> Bool {
        let (seconds, attoseconds) = timeout.components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        let size = socklen_t(MemoryLayout<timeval>.size)
        return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, size) == 0
            && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, size) == 0
    }

    static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}
