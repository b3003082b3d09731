import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process spoken to in JSON lines through pipes, read with deadlines (no sleeps).
/// Test-only; not thread-safe: one test drives one process.
final class LineProcess {
    enum Failure: Error, CustomStringConvertible {
        case timedOut(String)
        var description: String {
            switch self {
            case .timedOut(let what): "timed out waiting for \(what)"
            }
        }
    }

    private let process = Process()
    private let stdin = Pipe()
    private let stdout = Pipe()
    private var buffer: [UInt8] = []
    private var atEOF = false

    /// The fakes in `Tests/fakes`.
    static let fakesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fakes")

    init(executable: URL, arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    func write(_ line: [UInt8]) throws {
        try stdin.fileHandleForWriting.write(contentsOf: line + [0x0A])
    }

    func closeStdin() throws {
        try stdin.fileHandleForWriting.close()
    }

    /// The next line (without its newline), or nil at end of output.
    func readLine(timeout: Duration = .seconds(20)) throws -> [UInt8]? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            if atEOF { return buffer.isEmpty ? nil : buffer.removeAllReturning() }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw Failure.timedOut("a line from \(process.executableURL?.lastPathComponent ?? "?")") }
            var pfd = pollfd(fd: stdout.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(remaining.components.seconds * 1000 + 1, 60_000))
            guard poll(&pfd, 1, milliseconds) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { read(pfd.fd, $0.baseAddress, $0.count) }
            if count <= 0 {
                atEOF = true
            } else {
                buffer += chunk[..<count]
            }
        }
    }

    /// Reads what is left of the output, then waits for the process to exit; its status.
    func waitForExit(timeout: Duration = .seconds(20)) throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while try readLine(timeout: deadline - ContinuousClock.now) != nil {}
        process.waitUntilExit()
        return process.terminationStatus
    }
}

extension Array {
    fileprivate mutating func removeAllReturning() -> [Element] {
        defer { removeAll() }
        return self
    }
}
