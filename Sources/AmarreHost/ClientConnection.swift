import AmarreCore
import CoreMetrics
import Logging
import NIOCore
import NIOWebSocket

/// One WebSocket viewer of a session, after the upgrade.
///
/// Owns the conformance checks NIO's decoder leaves to the application (reserved bits and
/// opcodes, masking, fragmentation, UTF-8, close codes), a bounded outbound queue (a viewer
/// that falls behind by more than `clientBufferBytes` is dropped with 1013, never buffered
/// for), and the keepalive pings. Confined to the host's event loop.
final class ClientConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long a closing connection waits for its close frame to be written.
    static let closeTimeout = TimeAmount.seconds(2)
    /// How long a client dropped as too slow has to read what was already sent and the 1013
    /// close frame before its connection is cut.
    static let slowCloseTimeout = TimeAmount.seconds(60)

    private let session: Session
    private let limits: Limits
    private let logger: Logger
    private var context: ChannelHandlerContext?

    private var queue = CircularBuffer<WebSocketFrame>()
    private var queuedBytes = 0
    private var needsFlush = false
    /// Close with this code once the queue is written.
    private var closeAfterQueue: WebSocketErrorCode?
    private var closing = false

    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var fragmentCount = 0

    /// While replaying stored records, live records wait here (bounded like the queue).
    private var held: CircularBuffer<WebSocketFrame>?
    private var heldBytes = 0
    /// Runs once the queue has drained below half its limit (replay flow control).
    private var onQueueLow: (() -> Void)?

    private var pingTask: RepeatedTask?
    private var awaitingPong = false
    /// A pong to a client's ping is being written; pings meanwhile only update `nextPong`,
    /// so a client that pings without reading never piles up more than one pong.
    private var pongInFlight = false
    private var nextPong: ByteBuffer?

    struct Limits {
        var maxMessageBytes: Int
        var queueBytes: Int
        var pingInterval: TimeAmount
        /// Fragments accepted for one message.
        static let maxFragments = 4096
    }

    /// The `since` of the request: replay records after it before going live.
    private let since: Int64?
    /// The paired device or token this client authenticated as (nil with `AMARRE_AUTH=none`).
    let deviceID: String?

    init(session: Session, since: Int64?, limits: Limits, logger: Logger, deviceID: String? = nil) {
        self.session = session
        self.since = since
        self.limits = limits
        self.logger = logger
        self.deviceID = deviceID
    }

    /// Accepts live records: not closing, no close pending.
    var isOpen: Bool { !closing && closeAfterQueue == nil && closeAfterReplay == nil }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let interval = limits.pingInterval
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        pingTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            bound.value.keepalive()
        }
        session.attach(self, since: since)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pingTask?.cancel()
        pingTask = nil
        closing = true
        queue.removeAll()
        queuedBytes = 0
        held = nil
        onQueueLow = nil
        session.detach(self)
        self.context = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("websocket error", metadata: ["error": "\(error)"])
        fail(.protocolError)
    }

    /// Stops or resumes reading this client's frames (backpressure from the agent's stdin).
    func setReading(_ enabled: Bool) {
        guard let context else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: enabled).whenFailure { _ in }
        if enabled { context.read() }
    }

    // MARK: outbound

    /// Sends a live record; held back while a replay is in progress.
    func send(_ payload: ByteBuffer) {
        guard isOpen else { return }
        if held != nil {
            held!.append(WebSocketFrame(fin: true, opcode: .text, data: payload))  // non-nil: checked above
            heldBytes += payload.readableBytes
            if heldBytes + queuedBytes > limits.queueBytes { dropSlow() }
            return
        }
        enqueue(payload)
    }

    /// Starts a replay: live records are held until `endReplay`.
    func beginReplay() {
        held = CircularBuffer()
        heldBytes = 0
    }

    /// Sends a stored record during a replay.
    func sendReplay(_ payload: ByteBuffer) {
        guard isReplaying else { return }
        enqueue(payload, force: true)
    }

    /// A replay is in progress on a connection that is still up.
    var isReplaying: Bool { held != nil && !closing && context != nil }

    /// Close code waiting for the replay to finish.
    private var closeAfterReplay: WebSocketErrorCode?

    /// The replay caught up: the held live records follow, then everything is live.
    func endReplay() {
        guard let frames = held else { return }
        held = nil
        heldBytes = 0
        for frame in frames { enqueue(frame.data, force: true) }
        if let code = closeAfterReplay {
            closeAfterReplay = nil
            close(code: code)
        }
    }

    /// Runs `body` once the outbound queue is below half its limit.
    func whenQueueLow(_ body: @escaping () -> Void) {
        if queuedBytes <= limits.queueBytes / 2 {
            body()
        } else {
            onQueueLow = body
        }
    }

    /// Queues a text frame; written at once when the connection keeps up.
    private func enqueue(_ payload: ByteBuffer, force: Bool = false) {
        guard force || isOpen, !closing, let context else { return }
        let frame = WebSocketFrame(fin: true, opcode: .text, data: payload)
        if queue.isEmpty, context.channel.isWritable {
            context.write(wrapOutboundOut(frame), promise: nil)
            needsFlush = true
            return
        }
        let wasEmpty = queue.isEmpty
        queue.append(frame)
        queuedBytes += payload.readableBytes
        // One record larger than the limit may wait alone; anything behind it is too much.
        if queuedBytes + heldBytes > limits.queueBytes, !wasEmpty { dropSlow() }
    }

    private func dropSlow() {
        logger.warning(
            "slow client dropped",
            metadata: ["client.queued_bytes": "\(queuedBytes + heldBytes)", "client.limit": "\(limits.queueBytes)"])
        queue.removeAll()
        queuedBytes = 0
        held = nil
        heldBytes = 0
        onQueueLow = nil
        // It no longer counts as a viewer; it gets no more records, then 1013.
        session.detach(self)
        sendClose(.init(codeNumber: 1013), reason: "client too slow", timeout: ClientConnection.slowCloseTimeout)
        HostMetrics.clientsDroppedSlow.increment()
    }

    func send(_ text: String) {
        send(ByteBuffer(string: text))
    }

    func flush() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    /// Closes after everything queued so far is written.
    func close(code: WebSocketErrorCode, reason: String = "") {
        guard isOpen else { return }
        if held == nil, queue.isEmpty {
            sendClose(code, reason: reason)
            return
        }
        if held != nil { closeAfterReplay = code } else { closeAfterQueue = code }
        // What is still queued has this long to reach the client; then the connection is cut.
        if let context {
            let channel = context.channel
            context.eventLoop.scheduleTask(in: ClientConnection.slowCloseTimeout) { channel.close(promise: nil) }
        }
    }

    /// The client's device was revoked: whatever is queued is dropped and the connection
    /// closes now with 1008 `revoked` (cut after the close timeout if the client does not read).
    func revoke() {
        guard !closing else { return }
        logger.info("closing a revoked device's connection")
        queue.removeAll()
        queuedBytes = 0
        held = nil
        heldBytes = 0
        onQueueLow = nil
        closeAfterQueue = nil
        closeAfterReplay = nil
        session.detach(self)
        sendClose(.policyViolation, reason: "revoked")
    }

    private func drain() {
        guard let context else { return }
        while context.channel.isWritable, let frame = queue.popFirst() {
            queuedBytes -= frame.length
            context.write(wrapOutboundOut(frame), promise: nil)
            needsFlush = true
        }
        if queuedBytes <= limits.queueBytes / 2, let body = onQueueLow {
            onQueueLow = nil
            body()
        }
        if queue.isEmpty, let code = closeAfterQueue {
            closeAfterQueue = nil
            sendClose(code, reason: "")
        }
        flush()
    }

    private func sendClose(_ code: WebSocketErrorCode, reason: String, timeout: TimeAmount = ClientConnection.closeTimeout) {
        guard !closing, let context else { return }
        closing = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        let channel = context.channel
        let deadline = context.eventLoop.scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            deadline.cancel()
            channel.close(promise: nil)
        }
    }

    /// A protocol violation: close with `code`, reading nothing more.
    private func fail(_ code: WebSocketErrorCode) {
        queue.removeAll()
        queuedBytes = 0
        closeAfterQueue = nil
        sendClose(code, reason: "")
    }

    /// Answers a ping; while an answer is still being written only the newest payload waits
    /// (RFC 6455 §5.5.3 allows answering only the most recent ping).
    private func sendPong(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        guard !pongInFlight else {
            nextPong = payload
            return
        }
        pongInFlight = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: payload))).whenComplete { _ in
            let connection = bound.value
            connection.pongInFlight = false
            if let next = connection.nextPong, !connection.closing, let context = connection.context {
                connection.nextPong = nil
                connection.sendPong(next, context: context)
            }
        }
    }

    private func keepalive() {
        guard isOpen, let context else { return }
        if awaitingPong {
            logger.info("client stopped answering pings")
            context.close(promise: nil)
            return
        }
        awaitingPong = true
        var data = context.channel.allocator.buffer(capacity: 8)
        data.writeInteger(UInt64(context.eventLoop.now.uptimeNanoseconds))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: data)), promise: nil)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !closing else { return }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3, frame.maskKey != nil else {
            fail(.protocolError)
            return
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return fail(.protocolError) }
            if frame.fin {
                deliver(frame.unmaskedData, text: frame.opcode == .text)
            } else {
                fragments = frame.unmaskedData
                fragmentsAreText = frame.opcode == .text
                fragmentCount = 1
            }
        case .continuation:
            guard var buffer = fragments else { return fail(.protocolError) }
            fragments = nil
            var more = frame.unmaskedData
            fragmentCount += 1
            guard buffer.readableBytes + more.readableBytes <= limits.maxMessageBytes else {
                return fail(.init(codeNumber: 1009))
            }
            guard fragmentCount <= Limits.maxFragments else { return fail(.policyViolation) }
            buffer.writeBuffer(&more)
            if frame.fin {
                deliver(buffer, text: fragmentsAreText)
            } else {
                fragments = buffer
            }
        case .ping:
            guard frame.fin, frame.length <= 125 else { return fail(.protocolError) }
            sendPong(frame.unmaskedData, context: context)
        case .pong:
            awaitingPong = false
        case .connectionClose:
            receivedClose(frame.unmaskedData)
        default:
            fail(.protocolError)
        }
    }

    private func deliver(_ message: ByteBuffer, text: Bool) {
        guard text else {
            send(#"{"type":"amarre.error","error":"binary_frame","detail":"binary frames are not forwarded"}"#)
            flush()
            return
        }
        let valid = message.withUnsafeReadableBytes { UTF8Validation.isValid($0) }
        guard valid else { return fail(.dataInconsistentWithMessage) }
        session.clientSent(message, from: self)
    }

    private func receivedClose(_ payload: ByteBuffer) {
        var payload = payload
        switch payload.readableBytes {
        case 0:
            sendClose(.normalClosure, reason: "")
        case 1:
            fail(.protocolError)
        default:
            // At least two bytes are readable.
            let code = payload.readInteger(as: UInt16.self)!
            guard ClientConnection.isValidCloseCode(code) else { return fail(.protocolError) }
            let reasonValid = payload.withUnsafeReadableBytes { UTF8Validation.isValid($0) }
            guard reasonValid else { return fail(.dataInconsistentWithMessage) }
            sendClose(.init(codeNumber: Int(code)), reason: "")
        }
    }

    /// Close codes a peer may send (RFC 6455 §7.4, IANA registry).
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}
