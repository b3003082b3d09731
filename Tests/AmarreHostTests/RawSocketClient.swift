import Foundation
import NIOCore
import NIOPosix
import Testing

/// What a `RawSocketClient` has received so far, and whether its connection has ended.
final class ReceivedBytes: @unchecked Sendable {  // `bytes` and `closed` are only touched under `lock`
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var closed = false

    func append(_ buffer: ByteBuffer) {
        lock.lock()
        defer { lock.unlock() }
        bytes += buffer.readableBytesView
    }

    func markClosed() {
        lock.lock()
        defer { lock.unlock() }
        closed = true
    }

    var snapshot: (bytes: [UInt8], closed: Bool) {
        lock.lock()
        defer { lock.unlock() }
        return (bytes, closed)
    }
}

private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let received: ReceivedBytes

    init(received: ReceivedBytes) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.append(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.markClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A write into a connection the server has closed (EPIPE, ECONNRESET): the end of it.
        context.close(promise: nil)
    }
}

/// A client of one of the host's Unix sockets that writes raw bytes and sees exactly the
/// bytes the server writes back, and whether (and when) the server closes the connection.
struct RawSocketClient: Sendable {
    let channel: any Channel
    let received: ReceivedBytes

    static func connect(_ path: String, group: any EventLoopGroup) async throws -> RawSocketClient {
        let received = ReceivedBytes()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received))
                }
            }
            .connect(unixDomainSocketPath: path).get()
        return RawSocketClient(channel: channel, received: received)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Waits until `condition` holds on the bytes received; returns them.
    @discardableResult
    func until(_ what: String, timeout: Duration = .seconds(10), _ condition: @escaping ([UInt8]) -> Bool) async throws -> [UInt8] {
        try await poll(what, timeout: timeout) {
            let (bytes, _) = received.snapshot
            return condition(bytes) ? bytes : nil
        }
    }

    /// Waits until the connection has ended (the server closed it); returns every byte received.
    func untilClosed(timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        try await poll("the server to close the connection", timeout: timeout) {
            let (bytes, closed) = received.snapshot
            return closed ? bytes : nil
        }
    }

    var isClosed: Bool { received.snapshot.closed }

    func close() async {
        try? await channel.close()  // it may be closed already
    }
}

/// The lines of `bytes` (each without its `\n`); the bytes after the last newline are dropped.
func lines(_ bytes: [UInt8]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var start = 0
    for (i, b) in bytes.enumerated() where b == 0x0A {
        out.append(Array(bytes[start..<i]))
        start = i + 1
    }
    return out
}

func newlineCount(_ bytes: [UInt8]) -> Int { bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
