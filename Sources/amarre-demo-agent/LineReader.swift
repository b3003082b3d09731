#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads stdin with blocking `read(2)` calls (on a thread of its own) and cuts it into lines on
/// `\n` only, never on U+2028/U+2029, dropping one trailing `\r`: pi's JSONL framing.
struct LineReader: Sendable {
    enum Event: Sendable {
        case line([UInt8])
        /// A line longer than `maxLineBytes` was skipped.
        case tooLong
        /// End of input (or a read error).
        case end
    }

    let maxLineBytes: Int
    static let readSize = 64 * 1024

    /// Returns after delivering `.end`.
    func run(_ deliver: (Event) -> Void) {
        var pending: [UInt8] = []
        var skipping = false
        var chunk = [UInt8](repeating: 0, count: Self.readSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            var start = 0
            while let newline = chunk[start..<count].firstIndex(of: UInt8(ascii: "\n")) {
                if skipping {
                    skipping = false
                } else if pending.count + (newline - start) > maxLineBytes {
                    deliver(.tooLong)
                } else {
                    pending.append(contentsOf: chunk[start..<newline])
                    if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                    deliver(.line(pending))
                }
                pending.removeAll(keepingCapacity: true)
                start = newline + 1
            }
            guard !skipping else { continue }
            if pending.count + (count - start) > maxLineBytes {
                deliver(.tooLong)
                pending = []
                skipping = true
            } else {
                pending.append(contentsOf: chunk[start..<count])
            }
        }
        // A last line without its newline is still a line.
        if !skipping, !pending.isEmpty {
            if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
            deliver(.line(pending))
        }
        deliver(.end)
    }
}
