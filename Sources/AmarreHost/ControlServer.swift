import AmarreCore
import Logging
import NIOCore
import NIOPosix

/// The control socket amarre-api talks to: one JSON `ControlRequest` per line in, one
/// `ControlResponse` per line out, in order.
enum ControlServer {
    static func bind(host: SessionHost, path: String, group: any EventLoopGroup) -> EventLoopFuture<any Channel> {
        let boundHost = NIOLoopBound(host, eventLoop: host.eventLoop)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(ControlLineDecoder(maxBytes: ControlProtocol.maxMessageBytes)))
                    try channel.pipeline.syncOperations.addHandler(ControlHandler(host: boundHost))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
    }
}

/// Frames control messages on `\n`, refusing any longer than the limit.
struct ControlLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxBytes: Int
    /// Bytes of the line being read already searched for its newline (a prompt with images
    /// arrives in many reads: each byte is looked at once).
    private var searched = 0

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    struct MessageTooLong: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view[(view.startIndex + searched)...].firstIndex(of: 0x0A) else {
            searched = view.count
            if buffer.readableBytes > maxBytes { throw MessageTooLong() }
            return .needMoreData
        }
        searched = 0
        let length = newline - buffer.readerIndex
        // The newline is within the readable bytes, so both reads succeed.
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}

private final class ControlHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let host: NIOLoopBound<SessionHost>

    init(host: NIOLoopBound<SessionHost>) { self.host = host }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        let response: ControlResponse
        do {
            let request = try ControlProtocol.decode(ControlRequest.self, from: line.readableBytesView)
            response = host.value.handle(request)
        } catch {
            response = .failure(.badRequest("malformed control request"))
        }
        do {
            let bytes = try ControlProtocol.encode(response)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
        } catch {
            host.value.logger.error("control response not encodable", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        host.value.logger.warning("control connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
