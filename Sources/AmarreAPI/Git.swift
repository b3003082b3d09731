import Foundation
import Glibc

/// Runs git for amarre-api's worktree, changes and files routes: on the calling FastCGI
/// thread (never the host's event loop), with a deadline, its output bounded.
struct Git {
    struct Result {
        var status: Int32
        var output: [UInt8]
        /// The output went past `maxOutput` and was cut there (git was stopped).
        var truncated: Bool
        var errorText: String

        var text: String { String(decoding: output, as: UTF8.self) }
        var ok: Bool { status == 0 }
    }

    /// Longest stderr kept (for error details).
    static let maxErrorBytes = 16 << 10

    var timeout: Duration
    var executable = "/usr/bin/git"

    init(timeoutMs: Int) {
        timeout = .milliseconds(timeoutMs)
        for candidate in ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"] where access(candidate, X_OK) == 0 {
            executable = candidate
            break
        }
    }

    /// `git -C <directory> <arguments>`; a timeout or a launch failure is a result with status -1.
    func run(_ arguments: [String], in directory: String, maxOutput: Int = 8 << 20) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // Nothing a repository's config names is run: no fsmonitor, no hooks, no external diff.
        process.arguments =
            ["-C", directory, "-c", "core.quotepath=false", "-c", "color.ui=false", "-c", "core.fsmonitor=false",
             "-c", "core.hooksPath=/dev/null", "-c", "core.pager=cat"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_OPTIONAL_LOCKS"] = "0"  // never contend with the agent for index.lock
        environment["LC_ALL"] = "C"
        environment["GIT_PAGER"] = "cat"
        environment["GIT_LITERAL_PATHSPECS"] = "1"  // a file named `*` is that file, not a pattern
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Result(status: -1, output: [], truncated: false, errorText: "cannot run git: \(error.localizedDescription)")
        }
        // Both pipes are read here with poll and a deadline: a process git started (and that
        // still holds a pipe) can never keep this thread past the timeout.
        let deadline = ContinuousClock.now + timeout
        let outFD = out.fileHandleForReading.fileDescriptor
        let errFD = err.fileHandleForReading.fileDescriptor
        for fd in [outFD, errFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var output = [UInt8]()
        var errors = [UInt8]()
        var truncated = false
        var timedOut = false
        var open: Set<Int32> = [outFD, errFD]
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !open.isEmpty {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                timedOut = true
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let (ls, las) = left.components
            let ms = Int32(min(Int64(Int32.max), ls * 1000 + las / 1_000_000_000_000_000 + 1))
            let ready = poll(&fds, nfds_t(fds.count), ms)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            for p in fds where p.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n < 0, errno == EAGAIN || errno == EINTR { continue }
                if n <= 0 {
                    open.remove(p.fd)
                    continue
                }
                if p.fd == outFD {
                    output += buffer[..<n]
                    if output.count > maxOutput {
                        output.removeLast(output.count - maxOutput)
                        truncated = true
                        open.removeAll()
                    }
                } else if errors.count < Git.maxErrorBytes {
                    errors += buffer[..<min(n, Git.maxErrorBytes - errors.count)]
                }
            }
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Result(
            status: timedOut ? -1 : process.terminationStatus, output: output, truncated: truncated,
            errorText: timedOut
                ? "git did not finish within \(timeout)"
                : String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

