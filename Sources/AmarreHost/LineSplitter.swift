public import NIOCore

/// Splits an agent's byte stream into records: one per `\n`, one trailing `\r` stripped,
/// empty lines skipped.
///
/// Bytes are kept as bytes until a line is complete, so a UTF-8 character split across
/// reads is never corrupted. A line longer than `maxRecordBytes` is never buffered whole:
/// past the limit its bytes are counted and dropped until its newline.
public struct LineSplitter: Sendable {
    public enum Output: Equatable, Sendable {
        case record(ByteBuffer)
        /// A line of `bytes` bytes (so far, if `complete` is false) exceeded the limit and was dropped.
        case oversized(bytes: Int)
    }

    public let maxRecordBytes: Int
    private var partial: ByteBuffer?
    /// Bytes of an oversized line dropped so far; nil when not inside one.
    private var discarded: Int?

    public init(maxRecordBytes: Int) {
        precondition(maxRecordBytes > 0)
        self.maxRecordBytes = maxRecordBytes
    }

    /// Consumes all of `buffer`, emitting complete records in order.
    public mutating func feed(_ buffer: inout ByteBuffer, emit: (Output) -> Void) {
        while buffer.readableBytes > 0 {
            let newline = buffer.withUnsafeReadableBytes { raw -> Int? in
                guard let base = raw.baseAddress, let hit = memchr(base, 0x0A, raw.count) else { return nil }
                return base.distance(to: UnsafeRawPointer(hit))
            }
            guard let newline else {
                keepPartial(&buffer, emit: emit)
                return
            }
            // `newline` is within the readable bytes, so the slice exists.
            var piece = buffer.readSlice(length: newline)!
            buffer.moveReaderIndex(forwardBy: 1)
            if let count = discarded {
                discarded = nil
                emit(.oversized(bytes: count + piece.readableBytes))
                continue
            }
            if var head = partial {
                partial = nil
                if head.readableBytes + piece.readableBytes > maxRecordBytes + 1 {
                    emit(.oversized(bytes: head.readableBytes + piece.readableBytes))
                    continue
                }
                head.writeBuffer(&piece)
                complete(head, emit: emit)
            } else {
                complete(piece, emit: emit)
            }
        }
    }

    /// End of stream: a last line without a newline is still a record.
    public mutating func finish(emit: (Output) -> Void) {
        if let count = discarded {
            discarded = nil
            emit(.oversized(bytes: count))
        }
        if let head = partial {
            partial = nil
            complete(head, emit: emit)
        }
    }

    private func complete(_ line: ByteBuffer, emit: (Output) -> Void) {
        var line = line
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == 0x0D {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        guard line.readableBytes > 0 else { return }
        if line.readableBytes > maxRecordBytes {
            emit(.oversized(bytes: line.readableBytes))
        } else {
            emit(.record(line))
        }
    }

    private mutating func keepPartial(_ buffer: inout ByteBuffer, emit: (Output) -> Void) {
        let count = buffer.readableBytes
        if let d = discarded {
            discarded = d + count
            buffer.moveReaderIndex(forwardBy: count)
            return
        }
        let held = partial?.readableBytes ?? 0
        // One byte of slack for a `\r` before the newline.
        if held + count > maxRecordBytes + 1 {
            partial = nil
            discarded = held + count
            buffer.moveReaderIndex(forwardBy: count)
            return
        }
        if partial == nil {
            // Copy: the read buffer is reused by the channel.
            var copy = ByteBufferAllocator().buffer(capacity: max(count, 256))
            copy.writeBuffer(&buffer)
            partial = copy
        } else {
            partial!.writeBuffer(&buffer)  // non-nil: checked just above
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
