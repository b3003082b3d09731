import Glibc

/// How one control exchange failed; logged, never sent to a client.
enum ExchangeFailure: Error, CustomStringConvertible {
    case connect(Int32)
    case write(Int32)
    case read(Int32)
    /// `ECONNRESET` before any answer byte: the host closed with our request unread.
    case resetBeforeAnswer
    case closed(afterBytes: Int)
    case timedOut
    case tooLong
    case malformed(String)

    /// Whether the request certainly did not reach the host's reader, so it can be resent.
    /// A Unix socket whose peer is gone fails the write with `EPIPE`; a peer that closed with
    /// our bytes unread makes the read fail with `ECONNRESET`.
    var hostDidNotReadRequest: Bool {
        switch self {
        case .write(let code): code == EPIPE || code == ECONNRESET
        case .resetBeforeAnswer: true
        default: false
        }
    }

    var description: String {
        switch self {
        case .connect(let code): "connect: \(UnixSocket.describe(errno: code))"
        case .write(let code): "write: \(UnixSocket.describe(errno: code))"
        case .read(let code): "read: \(UnixSocket.describe(errno: code))"
        case .resetBeforeAnswer: "connection reset before the answer"
        case .closed(let bytes): "connection closed after \(bytes) bytes of the answer"
        case .timedOut: "no answer in time"
        case .tooLong: "answer over the size limit"
        case .malformed(let why): "malformed answer: \(why)"
        }
    }
}
