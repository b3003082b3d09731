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
        process.arguments = ["-C", directory, "-c", "core.quotepath=false", "-c", "color.ui=false"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_OPTIONAL_LOCKS"] = "0"  // never contend with the agent for index.lock
        environment["LC_ALL"] = "C"
        environment["GIT_PAGER"] = "cat"
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
        let timer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .milliseconds(Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)), execute: timer)
        // stderr is read on another thread so a chatty git cannot block on it.
        let errorBytes = LockedBytes()
        let errorDone = DispatchSemaphore(value: 0)
        let errorReader = Thread {
            let handle = err.fileHandleForReading
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                errorBytes.append(chunk, limit: Git.maxErrorBytes)
            }
            errorDone.signal()
        }
        errorReader.start()
        var output = [UInt8]()
        var truncated = false
        let fd = out.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[..<n]
            if output.count > maxOutput {
                output.removeLast(output.count - maxOutput)
                truncated = true
                process.terminate()
                break
            }
        }
        process.waitUntilExit()
        timer.cancel()
        errorDone.wait()
        let timedOut = process.terminationReason == .uncaughtSignal && !truncated
        return Result(
            status: timedOut ? -1 : process.terminationStatus, output: output, truncated: truncated,
            errorText: timedOut ? "git did not finish within \(timeout)" : errorBytes.text)
    }
}

/// stderr of a git run, filled by its reader thread.
private final class LockedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()
    private var done = false

    func append(_ data: Data, limit: Int) {
        lock.lock()
        defer { lock.unlock() }
        if bytes.count < limit { bytes.append(data.prefix(limit - bytes.count)) }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
