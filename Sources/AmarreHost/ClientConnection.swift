import AmarreCore
import AmarreJSON
import AmarreSession
import CoreMetrics
import Logging
import NIOCore
import NIOWebSocket

/// One WebSocket viewer of a session, after the upgrade.
///
/// Owns the conformance checks NIO's decoder leaves to the application (with the handlers
/// `WebSocketServer.addClientHandlers` puts before it: reserved bits and masking in
/// `ClientFrameChecker`, fragments joined by NIO's `NIOWebSocketFrameAggregator`; here
/// opcodes, UTF-8, close codes, and the close codes of the errors they pass on), a bounded
/// outbound queue, and the keepalive pings. Confined to the host's event loop.
///
/// Delivery from the log (durable sessions): the client has a cursor, `delivered`, the `_seq`
/// of the last record queued for it. Live records are queued while the queue stays within
/// `clientBufferBytes`; when one would not fit, the client stops taking live records and
/// catches up from the store instead (pages after its cursor, read as the queue drains),
/// then rejoins the live stream where the log ends — no gap, no duplicate, order kept, and
/// neither the agent nor other clients wait. A `since` replay is the same catch-up. A client
/// is closed with 1013 only when it makes no progress (nothing of its queue written) for
/// `AMARRE_CLIENT_STALL_MS`. Without the store (`AMARRE_DURABLE=0`) nothing can be caught up:
/// a client past its queue limit is dropped with 1013 at once, as the original did.
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

    /// Frames waiting for the socket. Starts small (NIO's default reserves 16 frames, about a
    /// kilobyte, for every idle client); it grows as a busy client needs.
    private var queue = CircularBuffer<WebSocketFrame>(initialCapacity: 2)
    private var queuedBytes = 0
    private var needsFlush = false
    /// Close with this code once the queue is written.
    private var closeAfterQueue: WebSocketErrorCode?
    private var closing = false

    /// Its place in the log, live or catching up (`ClientCursor`, a state machine without I/O).
    private var cursor = ClientCursor()
    /// `_seq` of the last log record queued for this client.
    var delivered: Int64 { cursor.delivered }
    /// Reading from the store instead of taking live records (fell behind, or a `since` replay).
    var catchingUp: Bool { cursor.mode == .catchingUp }
    /// Close with this code once the catch-up has reached the end of the log.
    private var closeAfterCatchUp: WebSocketErrorCode?
    /// Runs once the outbound queue has drained below half its limit (catch-up flow control).
    private var onQueueLow: (() -> Void)?
    /// Last time something of the queue was written (or it was empty): the stall clock, in the
    /// event loop's time (virtual on an `EmbeddedEventLoop`).
    private var lastProgress = NIODeadline.uptimeNanoseconds(0)
    private var stallCheck: Scheduled<Void>?

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
        /// No progress for this long: closed with 1013 (`AMARRE_CLIENT_STALL_MS`).
        var stallTimeout: TimeAmount = .seconds(30)
        /// The session's records are in a store a client can catch up from.
        var canCatchUp = false
        /// Fragments accepted for one message (the aggregator's `maxAccumulatedFrameCount`).
        static let maxFragments = 4096
    }

    /// The `since` of the request: replay records after it before going live.
    private let since: Int64?
    /// The paired device or token this client authenticated as (nil with `AMARRE_AUTH=none`).
    let deviceID: String?
    /// Attached with `?readonly=1`: it sees everything and types nothing (terminal sessions).
    let readOnly: Bool

    init(session: Session, since: Int64?, limits: Limits, logger: Logger, deviceID: String? = nil, readOnly: Bool = false) {
        self.session = session
        self.since = since
        self.limits = limits
        self.logger = logger
        self.deviceID = deviceID
        self.readOnly = readOnly
    }

    /// Accepts live records: not closing, no close pending.
    var isOpen: Bool { !closing && closeAfterQueue == nil && closeAfterCatchUp == nil }

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
        cursor.end()
        queue.removeAll()
        queuedBytes = 0
        onQueueLow = nil
        stallCheck?.cancel()
        stallCheck = nil
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
        // Nothing is read from a closing connection: nor are its frames' errors.
        guard !closing else { return }
        fail(ClientConnection.closeCode(for: error))
    }

    /// The close code an inbound error earns: a message over `maxMessageBytes` 1009, one of
    /// more than `Limits.maxFragments` fragments 1008, anything else (a continuation without a
    /// start, a new message inside a fragmented one, a reserved bit, an unmasked frame) 1002.
    static func closeCode(for error: any Error) -> WebSocketErrorCode {
        switch error {
        case let error as NIOWebSocketFrameAggregator.Error:
            switch error {
            case .accumulatedFrameSizeIsTooLarge: .messageTooLarge
            // No minimum fragment size is set: the second cannot happen.
            case .tooManyFragments, .nonFinalFragmentSizeIsTooSmall: .policyViolation
            case .receivedNewFrameWithoutFinishingPrevious, .didReceiveFragmentBeforeReceivingTextOrBinaryFrame:
                .protocolError
            }
        // NIO's protocol error handler has already sent its close for these; the same code.
        case NIOWebSocketError.invalidFrameLength: .messageTooLarge
        default: .protocolError
        }
    }

    /// Stops or resumes reading this client's frames (backpressure from the agent's stdin).
    func setReading(_ enabled: Bool) {
        guard let context else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: enabled).whenFailure { _ in }
        if enabled { context.read() }
    }

    // MARK: outbound

    /// Sends a live record of the log (`seq`): queued while the client keeps up; past its
    /// queue limit it catches up from the store (durable) or is dropped (not durable).
    func send(_ payload: ByteBuffer, seq: Int64) {
        guard isOpen else { return }
        let decision = cursor.offer(
            seq: seq, bytes: payload.readableBytes, queuedBytes: queuedBytes, queueEmpty: queue.isEmpty,
            limit: limits.queueBytes, canCatchUp: limits.canCatchUp)
        switch decision {
        case .queue: enqueue(payload)
        case .catchUp: startCatchUp()
        case .drop: dropSlow()
        case .skip: break
        }
    }

    /// A record outside the log (hello, a notice for this client only): queued unless the
    /// queue is full, when the notice is dropped (a client that provokes notices without
    /// reading cannot grow it).
    func send(_ payload: ByteBuffer) {
        // A client closing after its catch-up still gets the catch-up's notices (a gap).
        guard !closing, closeAfterQueue == nil else { return }
        guard queue.isEmpty || queuedBytes + payload.readableBytes <= limits.queueBytes else {
            logger.debug("notice to a client with a full queue dropped")
            return
        }
        enqueue(payload, force: true)
    }

    /// The connection is closing or gone: nothing more is read for it.
    var isClosing: Bool { closing || context == nil }

    /// Where the client's cursor starts: the log's end when it attaches.
    func start(at seq: Int64) {
        cursor = ClientCursor(at: seq)
    }

    /// A terminal's scrollback is being sent: what retention dropped before it is no gap this
    /// client asked about.
    private(set) var quietGaps = false

    /// Catches up from the store from `seq` on (a `since` replay, or a terminal's scrollback
    /// with `quietGaps`).
    func beginCatchUp(after seq: Int64, quietGaps: Bool = false) {
        self.quietGaps = quietGaps
        cursor.beginCatchUp(after: seq)
        session.catchUp(self, after: seq)
    }

    /// Fell behind (the cursor is catching up): live records stop; the log is read from the
    /// cursor once the queue drains.
    private func startCatchUp() {
        HostMetrics.catchUps.increment()
        logger.debug("client fell behind; catching up from the log", metadata: ["client.delivered": "\(delivered)"])
        whenQueueLow { [self] in session.catchUp(self, after: delivered) }
    }

    /// A page of stored records read for the catch-up (after a `replay_gap` notice, if any).
    func caughtUp(_ records: [[UInt8]], through seq: Int64?) {
        guard catchingUp, !closing, context != nil else { return }
        for record in records { enqueue(ByteBuffer(bytes: record), force: true) }
        cursor.caughtUp(through: seq)
    }

    /// The catch-up reached the end of the log: live records flow again (or the close that
    /// waited for it is sent).
    func rejoinLive(at seq: Int64) {
        guard cursor.rejoin(at: seq) else { return }
        quietGaps = false
        if let code = closeAfterCatchUp {
            closeAfterCatchUp = nil
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
        if queue.isEmpty {
            lastProgress = context.eventLoop.now
            armStallCheck()
        }
        queue.append(frame)
        queuedBytes += payload.readableBytes
    }

    /// Checks, `stallTimeout` after the last progress, that the queue has moved.
    private func armStallCheck() {
        guard stallCheck == nil, let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        stallCheck = context.eventLoop.scheduleTask(deadline: lastProgress + limits.stallTimeout) {
            let connection = bound.value
            connection.stallCheck = nil
            guard !connection.closing, !connection.queue.isEmpty else { return }
            if connection.lastProgress + connection.limits.stallTimeout <= connection.context?.eventLoop.now ?? .now() {
                connection.dropSlow()
            } else {
                connection.armStallCheck()
            }
        }
    }

    private func dropSlow() {
        logger.warning(
            "slow client dropped",
            metadata: ["client.queued_bytes": "\(queuedBytes)", "client.limit": "\(limits.queueBytes)"])
        queue.removeAll()
        queuedBytes = 0
        onQueueLow = nil
        cursor.end()
        // It no longer counts as a viewer; it gets no more records, then 1013.
        session.detach(self)
        sendClose(.init(codeNumber: 1013), reason: "client too slow", timeout: ClientConnection.slowCloseTimeout)
        HostMetrics.clientsDroppedSlow.increment()
    }

    /// A server record for this client only.
    func send(_ record: ServerRecord) {
        send(ByteBuffer(string: record.json))
    }

    func flush() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    /// Closes after everything queued so far is written.
    func close(code: WebSocketErrorCode, reason: String = "") {
        guard isOpen else { return }
        if !catchingUp, queue.isEmpty {
            sendClose(code, reason: reason)
            return
        }
        // A client catching up first gets the rest of the log (a crash's event included).
        if catchingUp { closeAfterCatchUp = code } else { closeAfterQueue = code }
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
        onQueueLow = nil
        cursor.end()
        closeAfterQueue = nil
        closeAfterCatchUp = nil
        session.detach(self)
        sendClose(.policyViolation, reason: "revoked")
    }

    private func drain() {
        guard let context else { return }
        while context.channel.isWritable, let frame = queue.popFirst() {
            queuedBytes -= frame.length
            context.write(wrapOutboundOut(frame), promise: nil)
            needsFlush = true
            lastProgress = context.eventLoop.now
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
        cursor.end()
        onQueueLow = nil
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

    /// A whole message (its fragments joined by the aggregator before this handler) or a
    /// control frame, checked for reserved bits and masking by `ClientFrameChecker`.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !closing else { return }
        switch frame.opcode {
        case .text, .binary:
            // The aggregator forwards final frames only.
            guard frame.fin else { return fail(.protocolError) }
            deliver(frame.unmaskedData, text: frame.opcode == .text)
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
            send(.error("binary_frame", detail: "binary frames are not forwarded"))
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
