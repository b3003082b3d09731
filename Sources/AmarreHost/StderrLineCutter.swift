/// Splits an agent's stderr into lines for the log, each cut to `maxLineBytes`: the head of
/// a long line is kept and logged with the number of bytes cut, never dropped whole, and a
/// long line is never buffered whole. One trailing `\r` is stripped; empty lines are skipped.
struct StderrLineCutter {
    struct Line: Equatable {
        var text: String
        /// Bytes past `maxLineBytes` that were left out.
        var cutBytes: Int
    }

    let maxLineBytes: Int
    private var head: [UInt8] = []
    private var cut = 0

    init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    mutating func feed(_ bytes: some Sequence<UInt8>, emit: (Line) -> Void) {
        for byte in bytes {
            if byte == 0x0A {
                finishLine(emit: emit)
            } else if head.count < maxLineBytes {
                head.append(byte)
            } else {
                cut += 1
            }
        }
    }

    /// End of stream: a last line without a newline is still logged.
    mutating func finish(emit: (Line) -> Void) {
        finishLine(emit: emit)
    }

    private mutating func finishLine(emit: (Line) -> Void) {
        defer {
            head.removeAll(keepingCapacity: head.capacity <= 64 << 10)
            cut = 0
        }
        if cut == 0, head.last == 0x0D { head.removeLast() }
        guard !head.isEmpty || cut > 0 else { return }
        emit(Line(text: String(decoding: head, as: UTF8.self), cutBytes: cut))
    }
}
