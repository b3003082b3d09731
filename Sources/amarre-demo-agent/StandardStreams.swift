#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to stdout and stderr: each call is one `write(2)` loop, so a line is out of
/// the process (flushed) when the call returns. Callers serialise calls (see `DemoDriver`).
struct StandardStreams: Sendable {
    /// Writes `line` and a newline to stdout. Exits with status 1 when stdout is gone.
    func writeLine(_ line: [UInt8]) {
        var bytes = line
        bytes.append(UInt8(ascii: "\n"))
        guard Self.writeAll(bytes, to: STDOUT_FILENO) else {
            writeError("amarre-demo-agent: cannot write to stdout (errno \(errno)); exiting")
            exit(1)
        }
    }

    /// Writes `text` and a newline to stderr; failures are ignored (there is nowhere to report them).
    func writeError(_ text: String) {
        _ = Self.writeAll(Array((text + "\n").utf8), to: STDERR_FILENO)
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                // The loop runs only while `buffer` is non-empty, so it has a base address.
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
