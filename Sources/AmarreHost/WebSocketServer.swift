import AmarreAuth
import AmarreCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The WebSocket endpoint nginx proxies `/sessions/<id>` upgrades to, on a Unix socket.
enum WebSocketServer {
    static let refusalHandlerName = "amarre.refusal"
    static func bind(host: SessionHost, path: String, group: any EventLoopGroup) -> EventLoopFuture<any Channel> {
        let boundHost = NIOLoopBound(host, eventLoop: host.eventLoop)
        let limits = ClientConnection.Limits(
            maxMessageBytes: host.configuration.maxRecordBytes,
            queueBytes: host.configuration.clientBufferBytes,
            pingInterval: .milliseconds(Int64(host.configuration.pingIntervalMs)),
            stallTimeout: .milliseconds(Int64(host.configuration.clientStallMs)),
            canCatchUp: host.store != nil)
        let logger = host.logger
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 << 10, high: 64 << 10))
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: limits.maxMessageBytes,
                    automaticErrorHandling: true,
                    shouldUpgrade: { channel, head in
                        let decision = decide(head, boundHost.value).handshake
                        guard case .accept = decision else { return channel.eventLoop.makeSucceededFuture(nil) }
                        return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                    },
                    upgradePipelineHandler: { channel, head in
                        channel.eventLoop.makeCompletedFuture {
                            let host = boundHost.value
                            let (decision, access) = decide(head, host)
                            guard case .accept(let id) = decision, let session = host.session(id) else {
                                // The session went away between the check and the upgrade.
                                channel.close(promise: nil)
                                return
                            }
                            // After an upgrade the refusal handler has nothing left to refuse.
                            channel.pipeline.syncOperations.removeHandler(name: refusalHandlerName, promise: nil)
                            var clientLogger = logger
                            clientLogger[metadataKey: "session.id"] = "\(id)"
                            // nginx's id of the upgrade request: the client's log lines carry it.
                            if let requestID = head.headers.first(name: "x-request-id"), requestID.utf8.count <= 64 {
                                clientLogger[metadataKey: "request.id"] = "\(requestID)"
                            }
                            if let device = access.deviceID {
                                clientLogger[metadataKey: "device.id"] = "\(device)"
                                host.deviceSeen(device)
                            }
                            try addClientHandlers(
                                ClientConnection(
                                    session: session, since: sinceParameter(head.uri), limits: limits,
                                    logger: clientLogger, deviceID: access.deviceID,
                                    readOnly: readOnlyParameter(head.uri)),
                                limits: limits, to: channel.pipeline.syncOperations)
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(RefusalHandler(host: boundHost), name: refusalHandlerName)
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
    }

    /// Puts the handlers of an upgraded connection after NIO's frame decoder (and its protocol
    /// error handler): the per-frame checks, NIO's aggregator of fragmented messages, then the
    /// client connection, which sees whole messages and control frames only.
    ///
    /// The aggregator's limits are the connection's: a message of more than `maxMessageBytes`
    /// (1009) or of more than `Limits.maxFragments` fragments (1008); no minimum fragment size.
    /// Its errors and the checker's reach `ClientConnection.errorCaught`, which closes with the
    /// code they earn (`ClientConnection.closeCode(for:)`). Ping, pong and close frames between
    /// fragments are passed through as they come.
    static func addClientHandlers(
        _ connection: ClientConnection, limits: ClientConnection.Limits,
        to pipeline: ChannelPipeline.SynchronousOperations
    ) throws {
        try pipeline.addHandler(ClientFrameChecker())
        try pipeline.addHandler(
            NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: ClientConnection.Limits.maxFragments,
                maxAccumulatedFrameSize: limits.maxMessageBytes))
        try pipeline.addHandler(connection)
    }

    /// `readonly=1` (or `true`) of the query string: the client watches and cannot type.
    static func readOnlyParameter(_ uri: String) -> Bool {
        guard let q = uri.firstIndex(of: "?") else { return false }
        return uri[uri.index(after: q)...].split(separator: "&").contains { $0 == "readonly=1" || $0 == "readonly=true" }
    }

    /// `since=N` of the query string: replay records with `_seq > N` (N >= 0).
    static func sinceParameter(_ uri: String) -> Int64? {
        guard let q = uri.firstIndex(of: "?") else { return nil }
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == "since", let n = Int64(kv[1]), n >= 0 { return n }
        }
        return nil
    }

    static func decide(_ head: HTTPRequestHead, _ host: SessionHost) -> (handshake: HandshakeDecision, access: AccessDecision) {
        let isUpgrade = head.headers["upgrade"].contains { $0.lowercased() == "websocket" }
        let scheme = head.headers.first(name: "x-forwarded-proto") ?? "http"
        // Several Cookie headers (HTTP/2 fronts split them) are one list.
        let cookies = head.headers["cookie"]
        let access = host.devices.decide(
            authorization: head.headers.first(name: "authorization"),
            cookie: cookies.isEmpty ? nil : cookies.joined(separator: "; "))
        let handshake = HandshakeDecision.decide(
            uri: head.uri, isUpgrade: isUpgrade, origin: head.headers.first(name: "origin"),
            host: head.headers.first(name: "host"), scheme: scheme, policy: host.originPolicy,
            authorized: access.isAllowed, status: { host.session($0)?.status },
            hasRoom: { host.hasRoomForClient($0) })
        return (handshake, access)
    }
}

/// Answers requests that were not upgraded: 404, 409, 403 or 426 with the JSON error body.
private final class RefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let host: NIOLoopBound<SessionHost>

    init(host: NIOLoopBound<SessionHost>) { self.host = host }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let error: AmarreError
        switch WebSocketServer.decide(head, host.value).handshake {
        case .reject(let e): error = e
        case .accept: error = AmarreError(.badRequest, detail: "invalid WebSocket handshake")
        }
        let body = ByteBuffer(string: error.jsonBody)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Connection", value: "close")
        if error.code == .unauthorized { headers.add(name: "WWW-Authenticate", value: "Bearer") }
        let status = HTTPResponseStatus(statusCode: error.httpStatus)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// The checks of each frame as NIO's decoder hands it over, before the aggregator joins
/// fragments (a joined message has neither a mask key nor reserved bits to check): a reserved
/// bit set (no extension is negotiated) or a frame the client did not mask is a protocol error
/// (1002), passed on as `ClientFrameChecker.Violation`; nothing is read after it.
///
/// The fragments of a message are unmasked into buffers of their own size: the aggregator keeps
/// them until the last one, and the decoder's slices would keep whole read buffers alive.
final class ClientFrameChecker: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    enum Violation: Error {
        case reservedBits
        case unmasked
    }

    private var failed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var frame = unwrapInboundIn(data)
        let violation: Violation? =
            frame.rsv1 || frame.rsv2 || frame.rsv3 ? .reservedBits : frame.maskKey == nil ? .unmasked : nil
        if let violation {
            failed = true
            context.fireErrorCaught(violation)
            return
        }
        let isFragment =
            frame.opcode == .continuation || (!frame.fin && (frame.opcode == .text || frame.opcode == .binary))
        guard isFragment else {
            context.fireChannelRead(data)
            return
        }
        // `unmaskedData` is a copy of the slice alone (the frame still holds the slice).
        frame.data = frame.unmaskedData
        frame.maskKey = nil
        context.fireChannelRead(wrapInboundOut(frame))
    }
}
