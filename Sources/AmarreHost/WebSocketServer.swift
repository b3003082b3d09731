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
                            try channel.pipeline.syncOperations.addHandler(
                                ClientConnection(
                                    session: session, since: sinceParameter(head.uri), limits: limits,
                                    logger: clientLogger, deviceID: access.deviceID))
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
