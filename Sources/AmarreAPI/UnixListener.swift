import Glibc

/// The listening Unix socket nginx connects to, bound here rather than by
/// `FCGX_OpenSocket`, which exits the whole process on a missing directory or a long path.
struct UnixListener: Sendable {
    let fd: Int32
    let path: String
    /// Identity of the socket file we bound, so `closeAndRemove` never unlinks a successor's.
    private let device: UInt64
    private let inode: UInt64

    /// Binds and listens at `path` with file mode `mode`, after removing a stale socket file.
    ///
    /// Refuses, with a message naming the path, when the path is too long for `sun_path`, its
    /// directory is missing, a non-socket file is in the way, or another process still
    /// listens there.
    static func bind(path: String, mode: Int, backlog: Int32) throws(StartupError) -> UnixListener {
        try checkLength(path)
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        var info = stat()
        guard stat(directory.isEmpty ? "/" : directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw StartupError("directory \(directory) of socket \(path) does not exist")
        }
        try removeStale(path)

        let fd = UnixSocket.makeStreamSocket()
        guard fd >= 0 else { throw StartupError("cannot create a socket: \(UnixSocket.describe(errno: errno))") }
        func fail(_ what: String) -> StartupError {
            let message = "cannot \(what) \(path): \(UnixSocket.describe(errno: errno))"
            close(fd)
            return StartupError(message)
        }
        // The path fits (checked above), so the address can be built.
        guard UnixSocket.withAddress(path, { Glibc.bind(fd, $0, $1) }) == 0 else { throw fail("bind") }
        // Explicit mode: the umask-derived one locked nginx's workers out (platform notes).
        guard chmod(path, mode_t(mode)) == 0 else {
            let error = fail("chmod")
            unlink(path)
            throw error
        }
        guard listen(fd, backlog) == 0, lstat(path, &info) == 0 else {
            let error = fail("listen on")
            unlink(path)
            throw error
        }
        return UnixListener(fd: fd, path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Refuses a path too long for `sun_path` (checked before anything is created on disk).
    static func checkLength(_ path: String) throws(StartupError) {
        let length = path.utf8.count
        guard length < UnixSocket.pathCapacity else {
            throw StartupError(
                "socket path \(path) is \(length) bytes long, Unix sockets allow at most \(UnixSocket.pathCapacity - 1): choose a shorter AMARRE_STATE_DIR")
        }
    }

    /// Removes a socket file nobody listens on any more (left by a crash).
    private static func removeStale(_ path: String) throws(StartupError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw StartupError("cannot inspect \(path): \(UnixSocket.describe(errno: errno))")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw StartupError("\(path) exists and is not a socket; not removing it")
        }
        let probe = UnixSocket.makeStreamSocket()
        if probe >= 0 {
            defer { close(probe) }
            _ = UnixSocket.setTimeouts(probe, .seconds(1))
            if UnixSocket.withAddress(path, { Glibc.connect(probe, $0, $1) }) == 0 {
                throw StartupError("another process is listening on \(path)")
            }
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw StartupError("cannot remove the stale socket \(path): \(UnixSocket.describe(errno: errno))")
        }
    }

    /// Wakes every thread blocked in `accept` on this socket (they get `EINVAL`); new
    /// connections are refused from now on.
    func shutdown() {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Closes the socket and removes its file if it is still ours. Call once no thread uses `fd`.
    func closeAndRemove() {
        close(fd)
        var info = stat()
        if lstat(path, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode {
            unlink(path)
        }
    }
}
