import Foundation
import Glibc

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Socket plumbing for the test peers (the FastCGI client and the fake host).
enum TestSocket {
    /// Longest wait for a peer in a test: a deadline, not a sleep.
    static let timeout = timeval(tv_sec: 10, tv_usec: 0)

    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "test socket path too long")
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var tv = timeout
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard withAddress(path, { Glibc.connect(fd, $0, $1) }) == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("connect \(path): errno \(code)")
        }
        return fd
    }

    static func listen(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        guard withAddress(path, { Glibc.bind(fd, $0, $1) }) == 0, Glibc.listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("bind/listen \(path): errno \(code)")
        }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }  // non-empty here
            if n < 0 {
                if errno == EINTR { continue }
                throw TestFailure("send: errno \(errno)")
            }
            sent += n
        }
    }

    /// Exactly `count` bytes, or an error at EOF or timeout.
    static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }  // count > got >= 0
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw TestFailure("recv: \(n == 0 ? "EOF" : "errno \(errno)") after \(got) of \(count) bytes") }
            got += n
        }
        return out
    }
}

/// A private directory under /tmp with a short path (Unix socket paths are limited to 107 bytes).
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() throws {
        var template = Array("/tmp/amarre-test-XXXXXX".utf8CString)
        // The array is non-empty, so its buffer has a base address.
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp: errno \(errno)")
        }
        path = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)  // best effort: a leftover /tmp dir fails nothing
    }
}
