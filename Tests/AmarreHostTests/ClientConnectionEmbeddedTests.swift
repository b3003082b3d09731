import AmarreCore
import Foundation
import Logging
import NIOCore
import NIOEmbedded
// Not a declared dependency of this test target (only of AmarreHost): `WebSocketFrame` is the
// handler's inbound and outbound type.
import NIOWebSocket
import Testing

@testable import AmarreHost

// `ClientConnection` on an `EmbeddedChannel`, behind the handlers `WebSocketServer` puts before
// it (the frame checker and NIO's fragment aggregator), fed `WebSocketFrame`s as NIO's decoder
// would hand them over. Its `Session` is made but never started: no agent process is spawned. Such a
// session reports `running` (the status a fresh `Session` starts with) and drops what clients
// send (it has no agent), which is all the frame-level checks need.
//
// The tests are synchronous: an `EmbeddedEventLoop` may only be used from the thread that
// made it.

private let quiet = Logger(label: "amarre.test", factory: { _ in SwiftLogNoOpLogHandler() })
private let maskKey = WebSocketMaskingKey([0x37, 0xFA, 0x21, 0x3D])!

/// A frame as a browser sends it: masked unless told otherwise.
private func clientFrame(
    _ opcode: WebSocketOpcode, _ payload: [UInt8] = [], fin: Bool = true, masked: Bool = true,
    rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false
) -> WebSocketFrame {
    var data = ByteBuffer(bytes: payload)
    if masked { data.webSocketMask(maskKey) }
    return WebSocketFrame(
        fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: opcode, maskKey: masked ? maskKey : nil, data: data)
}

private func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> WebSocketFrame {
    clientFrame(opcode, Array(text.utf8), fin: fin)
}

private func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
}

/// Holds the writes that pass it while `holding` (their promises stay pending) until `release`.
private final class WriteHolder: ChannelOutboundHandler {
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    var holding = false
    private(set) var held: [(frame: WebSocketFrame, promise: EventLoopPromise<Void>?)] = []
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if holding {
            held.append((unwrapOutboundIn(data), promise))
        } else {
            context.write(data, promise: promise)
        }
    }

    /// Writes and flushes what was held (which completes its promises).
    func release() {
        guard let context else { return }
        let items = held
        held = []
        for item in items { context.write(wrapOutboundOut(item.frame), promise: item.promise) }
        context.flush()
    }
}

/// One viewer of a session that has no agent, on an `EmbeddedChannel`.
private struct Viewer {
    let loop: EmbeddedEventLoop
    let channel: EmbeddedChannel
    let host: SessionHost
    let session: Session
    let connection: ClientConnection

    static let defaultLimits = ClientConnection.Limits(
        maxMessageBytes: 1 << 16, queueBytes: 1 << 16, pingInterval: .seconds(30), stallTimeout: .seconds(30),
        canCatchUp: false)

    /// - Parameters:
    ///   - before: an outbound handler put between the connection and the channel.
    ///   - prepare: runs on the session before the viewer attaches.
    init(
        limits: ClientConnection.Limits = Viewer.defaultLimits, before: (any ChannelHandler)? = nil,
        prepare: (Session) -> Void = { _ in }
    ) throws {
        loop = EmbeddedEventLoop()
        var configuration = AmarreConfiguration(stateDir: "/nonexistent/amarre-embedded-test")
        configuration.auth = .none
        host = SessionHost(configuration: configuration, eventLoop: loop, logger: quiet, store: nil, serverEnvironment: [:])
        let instance = InstanceConfig(id: "cat", agent: .command, command: ["cat"])
        session = Session(id: SessionID.random(), instance: instance, request: CreateSessionRequest(instanceId: "cat"), host: host)
        prepare(session)
        channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        if let before { try channel.pipeline.syncOperations.addHandler(before) }
        connection = ClientConnection(session: session, since: nil, limits: limits, logger: quiet)
        try WebSocketServer.addClientHandlers(connection, limits: limits, to: channel.pipeline.syncOperations)
    }

    /// Attached, with the hello read: what follows is what the test provokes.
    static func attached(
        limits: ClientConnection.Limits = Viewer.defaultLimits, before: (any ChannelHandler)? = nil
    ) throws -> Viewer {
        let viewer = try Viewer(limits: limits, before: before)
        let hello = try viewer.frames()
        #expect(hello.count == 1 && hello.first?.opcode == .text, "the hello comes first: \(hello)")
        return viewer
    }

    func send(_ frames: WebSocketFrame...) throws {
        for frame in frames { try channel.writeInbound(frame) }
    }

    /// The frames written since the last call.
    func frames() throws -> [WebSocketFrame] {
        var out: [WebSocketFrame] = []
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) { out.append(frame) }
        return out
    }

    var isOpen: Bool { channel.isActive }

    /// Closes what is left and cancels the timers (a freed `EmbeddedEventLoop` with scheduled
    /// tasks stops the test process).
    func tearDown() {
        _ = try? channel.finish(acceptAlreadyClosed: true)
        try? loop.syncShutdownGracefully()
    }
}

extension WebSocketFrame {
    fileprivate var payload: [UInt8] { Array(unmaskedData.readableBytesView) }
    fileprivate var text: String { String(decoding: payload, as: UTF8.self) }
    /// The code and reason of a close frame.
    fileprivate var close: (code: UInt16, reason: String)? {
        guard opcode == .connectionClose, payload.count >= 2 else { return nil }
        return (UInt16(payload[0]) << 8 | UInt16(payload[1]), String(decoding: payload[2...], as: UTF8.self))
    }
}

/// The connection wrote exactly one close frame, with `code`, and then closed.
private func expectClosed(
    _ viewer: Viewer, code: UInt16, reason: String = "", sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let frames = try viewer.frames()
    #expect(frames.count == 1, "\(frames)", sourceLocation: sourceLocation)
    let frame = frames.first
    #expect(frame?.close?.code == code, "close \(String(describing: frame?.close))", sourceLocation: sourceLocation)
    #expect(frame?.close?.reason == reason, sourceLocation: sourceLocation)
    #expect(frame?.fin == true && frame?.maskKey == nil, "a server frame is final and unmasked", sourceLocation: sourceLocation)
    #expect(!viewer.isOpen, "the connection is closed", sourceLocation: sourceLocation)
    #expect(viewer.session.clients.isEmpty, "the viewer is detached", sourceLocation: sourceLocation)
}

/// A frame (or frames) a peer must not send, and the close code it earns.
struct Violation: Sendable, CustomTestStringConvertible {
    let name: String
    let frames: [WebSocketFrame]
    let code: UInt16
    var testDescription: String { "\(name) → \(code)" }

    static let all: [Violation] = [
        Violation(name: "RSV1 set", frames: [clientFrame(.text, Array("{}".utf8), rsv1: true)], code: 1002),
        Violation(name: "RSV2 set", frames: [clientFrame(.text, Array("{}".utf8), rsv2: true)], code: 1002),
        Violation(name: "RSV3 set on a ping", frames: [clientFrame(.ping, [1], rsv3: true)], code: 1002),
        Violation(name: "unmasked text", frames: [clientFrame(.text, Array("{}".utf8), masked: false)], code: 1002),
        Violation(name: "unmasked ping", frames: [clientFrame(.ping, [1], masked: false)], code: 1002),
        Violation(name: "continuation without a start", frames: [clientFrame(.continuation, "{}")], code: 1002),
        Violation(
            name: "a new message inside a fragmented one",
            frames: [clientFrame(.text, "{", fin: false), clientFrame(.text, "{}")], code: 1002),
        Violation(
            name: "binary inside a fragmented text",
            frames: [clientFrame(.text, "{", fin: false), clientFrame(.binary, [0])], code: 1002),
        Violation(name: "fragmented ping", frames: [clientFrame(.ping, [1], fin: false)], code: 1002),
        Violation(name: "ping over 125 bytes", frames: [clientFrame(.ping, [UInt8](repeating: 7, count: 126))], code: 1002),
        Violation(
            name: "reserved data opcode 0x3",
            frames: [clientFrame(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, [1])], code: 1002),
        Violation(
            name: "reserved control opcode 0xB",
            frames: [clientFrame(WebSocketOpcode(encodedWebSocketOpcode: 0xB)!, [1])], code: 1002),
        Violation(name: "close with a one-byte payload", frames: [clientFrame(.connectionClose, [0x03])], code: 1002),
        Violation(name: "close with code 1005", frames: [clientFrame(.connectionClose, closePayload(1005))], code: 1002),
        Violation(name: "close with code 1006", frames: [clientFrame(.connectionClose, closePayload(1006))], code: 1002),
        Violation(name: "close with code 999", frames: [clientFrame(.connectionClose, closePayload(999))], code: 1002),
        Violation(name: "close with code 5000", frames: [clientFrame(.connectionClose, closePayload(5000))], code: 1002),
        Violation(
            name: "close reason not UTF-8", frames: [clientFrame(.connectionClose, closePayload(1000, [0xC3, 0x28]))],
            code: 1007),
        Violation(name: "text not UTF-8", frames: [clientFrame(.text, [0x22, 0xFF, 0x22])], code: 1007),
        Violation(
            name: "fragmented text not UTF-8 once joined",
            frames: [clientFrame(.text, [0x22, 0xE2, 0x82], fin: false), clientFrame(.continuation, [0x22])], code: 1007),
        Violation(
            name: "fragmented message over the limit",
            frames: [
                clientFrame(.text, [UInt8](repeating: 0x20, count: 60), fin: false),
                clientFrame(.continuation, [UInt8](repeating: 0x20, count: 60)),
            ], code: 1009),
    ]
}

@Suite("ClientConnection on an EmbeddedChannel")
struct ClientConnectionEmbeddedTests {
    static let smallMessages = ClientConnection.Limits(
        maxMessageBytes: 100, queueBytes: 1 << 16, pingInterval: .seconds(30), stallTimeout: .seconds(30))

    @Test("a viewer is sent amarre.hello when it attaches, and counts as a client")
    func hello() throws {
        let viewer = try Viewer()
        defer { viewer.tearDown() }
        let frames = try viewer.frames()
        #expect(frames.count == 1)
        let hello = try #require(frames.first)
        #expect(hello.opcode == .text && hello.fin && hello.maskKey == nil)
        #expect(hello.text.hasPrefix(#"{"type":"amarre.hello","protocol":""#))
        #expect(hello.text.contains(#""sessionId":"\#(viewer.session.id.rawValue)""#))
        #expect(hello.text.contains(#""status":"running","seq":0,"#))
        #expect(viewer.session.clients.count == 1)
        #expect(viewer.isOpen)
    }

    @Test("a protocol violation is answered with one close frame and the connection is closed", arguments: Violation.all)
    func violation(_ violation: Violation) throws {
        let viewer = try Viewer.attached(limits: Self.smallMessages)
        defer { viewer.tearDown() }
        for frame in violation.frames { try viewer.send(frame) }
        try expectClosed(viewer, code: violation.code)
    }

    @Test("more than 4096 fragments of one message: 1008, as soon as the 4096th is not the last")
    func tooManyFragments() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        try viewer.send(clientFrame(.text, "{", fin: false))
        for _ in 0..<(ClientConnection.Limits.maxFragments - 2) {
            try viewer.send(clientFrame(.continuation, [], fin: false))
        }
        #expect(try viewer.frames().isEmpty)
        #expect(viewer.isOpen)
        // The 4096th fragment, not the last: the message has more than 4096.
        try viewer.send(clientFrame(.continuation, "}", fin: false))
        try expectClosed(viewer, code: 1008)
    }

    @Test("a character split across fragments is valid UTF-8 once joined: nothing is closed")
    func utf8AcrossFragments() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        // "é" is C3 A9: each fragment alone is not UTF-8, the message is.
        try viewer.send(clientFrame(.text, [0x22, 0xC3], fin: false), clientFrame(.continuation, [0xA9, 0x22]))
        #expect(try viewer.frames().isEmpty)
        #expect(viewer.isOpen)
        #expect(viewer.session.clients.count == 1)
    }

    @Test("a binary message is answered with amarre.error binary_frame, and the connection stays open")
    func binary() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        try viewer.send(clientFrame(.binary, [1, 2, 3]))
        try viewer.send(clientFrame(.binary, [1], fin: false), clientFrame(.continuation, [2]))
        let frames = try viewer.frames()
        let error = #"{"type":"amarre.error","error":"binary_frame","detail":"binary frames are not forwarded"}"#
        #expect(frames.map(\.text) == [error, error])
        #expect(frames.allSatisfy { $0.opcode == .text && $0.fin })
        #expect(viewer.isOpen)
    }

    @Test("a ping is answered with a pong of the same payload, unmasked")
    func pingPong() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        let longest = (0..<125).map { UInt8($0) }
        try viewer.send(clientFrame(.ping, Array("abc".utf8)))
        try viewer.send(clientFrame(.ping, []))
        try viewer.send(clientFrame(.ping, longest))
        let frames = try viewer.frames()
        #expect(frames.map(\.opcode) == [.pong, .pong, .pong])
        #expect(frames.map(\.payload) == [Array("abc".utf8), [], longest])
        #expect(frames.allSatisfy { $0.fin && $0.maskKey == nil })
        #expect(viewer.isOpen)
    }

    @Test("one pong in flight: pings meanwhile leave only the newest payload to answer")
    func onePongInFlight() throws {
        let holder = WriteHolder()
        let viewer = try Viewer.attached(before: holder)
        defer { viewer.tearDown() }
        holder.holding = true
        try viewer.send(clientFrame(.ping, [1]), clientFrame(.ping, [2]), clientFrame(.ping, [3]))
        #expect(holder.held.map(\.frame.payload) == [[1]], "one pong is being written")
        holder.release()
        #expect(try viewer.frames().map(\.payload) == [[1]])
        // Its write completed: the newest ping waiting is answered, the one before it is not.
        #expect(holder.held.map(\.frame.opcode) == [.pong])
        #expect(holder.held.map(\.frame.payload) == [[3]])
        holder.release()
        #expect(try viewer.frames().map(\.payload) == [[3]])
        #expect(holder.held.isEmpty, "nothing else is waiting")
        holder.holding = false
        try viewer.send(clientFrame(.ping, [4]))
        #expect(try viewer.frames().map(\.payload) == [[4]])
    }

    @Test("a close from the client is echoed with its code and the connection closed", arguments: [1000, 1001, 1011, 3000, 4999] as [UInt16])
    func closeEcho(_ code: UInt16) throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        try viewer.send(clientFrame(.connectionClose, closePayload(code, Array("bye".utf8))))
        try expectClosed(viewer, code: code)
    }

    @Test("an empty close is answered 1000")
    func emptyClose() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        try viewer.send(clientFrame(.connectionClose, []))
        try expectClosed(viewer, code: 1000)
    }

    @Test("a viewer that stops answering pings is cut off after two intervals")
    func keepalive() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        viewer.loop.advanceTime(by: .seconds(29))
        #expect(try viewer.frames().isEmpty)
        viewer.loop.advanceTime(by: .seconds(1))
        let ping = try viewer.frames()
        #expect(ping.map(\.opcode) == [.ping])
        #expect(ping.first?.payload.count == 8)
        #expect(ping.first?.maskKey == nil)
        // Answered: the next interval pings again.
        try viewer.send(clientFrame(.pong, ping.first?.payload ?? []))
        viewer.loop.advanceTime(by: .seconds(30))
        #expect(try viewer.frames().map(\.opcode) == [.ping])
        #expect(viewer.isOpen)
        // Not answered: the one after closes the connection (no close frame: the peer is gone).
        viewer.loop.advanceTime(by: .seconds(30))
        #expect(try viewer.frames().isEmpty)
        #expect(!viewer.isOpen)
        #expect(viewer.session.clients.isEmpty)
    }

    @Test("records queued while the channel is not writable are written in order once it is")
    func drainInOrder() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        viewer.channel.isWritable = false
        viewer.connection.send(ByteBuffer(string: #"{"n":1}"#), seq: 1)
        viewer.connection.send(ByteBuffer(string: #"{"n":2}"#), seq: 2)
        viewer.connection.flush()
        #expect(try viewer.frames().isEmpty)
        #expect(viewer.connection.delivered == 2)
        viewer.channel.isWritable = true
        viewer.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try viewer.frames().map(\.text) == [#"{"n":1}"#, #"{"n":2}"#])
        #expect(viewer.isOpen)
    }

    @Test("without a store, a record past the queue limit drops the viewer with 1013")
    func slowViewerDropped() throws {
        let limits = ClientConnection.Limits(
            maxMessageBytes: 1 << 16, queueBytes: 16, pingInterval: .seconds(30), stallTimeout: .seconds(30),
            canCatchUp: false)
        let viewer = try Viewer.attached(limits: limits)
        defer { viewer.tearDown() }
        viewer.channel.isWritable = false
        viewer.connection.send(ByteBuffer(string: "0123456789"), seq: 1)
        #expect(try viewer.frames().isEmpty)
        viewer.connection.send(ByteBuffer(string: "0123456789"), seq: 2)
        // What was queued is dropped; only the close frame goes out.
        try expectClosed(viewer, code: 1013, reason: "client too slow")
    }

    @Test("a viewer whose queue does not move for the stall timeout is dropped with 1013")
    func stalledViewerDropped() throws {
        // The stall clock is the event loop's: the embedded loop's virtual time drives it.
        let limits = ClientConnection.Limits(
            maxMessageBytes: 1 << 16, queueBytes: 1 << 16, pingInterval: .hours(24 * 365 * 50),
            stallTimeout: .milliseconds(20))
        let viewer = try Viewer.attached(limits: limits)
        defer { viewer.tearDown() }
        viewer.channel.isWritable = false
        viewer.connection.send(ByteBuffer(string: "{}"), seq: 1)
        viewer.loop.advanceTime(by: .milliseconds(19))
        #expect(try viewer.frames().isEmpty)
        #expect(viewer.isOpen)
        viewer.loop.advanceTime(by: .milliseconds(2))
        try expectClosed(viewer, code: 1013, reason: "client too slow")
    }

    @Test("a viewer whose queue moves is not dropped however long it takes")
    func slowButMovingViewerKept() throws {
        let limits = ClientConnection.Limits(
            maxMessageBytes: 1 << 16, queueBytes: 1 << 16, pingInterval: .hours(24 * 365 * 50),
            stallTimeout: .milliseconds(20))
        let viewer = try Viewer.attached(limits: limits)
        defer { viewer.tearDown() }
        viewer.channel.isWritable = false
        viewer.connection.send(ByteBuffer(string: #"{"n":1}"#), seq: 1)
        viewer.connection.send(ByteBuffer(string: #"{"n":2}"#), seq: 2)
        viewer.loop.advanceTime(by: .milliseconds(15))
        // Written (progress) before the stall time: the check that comes finds nothing to drop.
        viewer.channel.isWritable = true
        viewer.channel.pipeline.fireChannelWritabilityChanged()
        viewer.loop.advanceTime(by: .seconds(1))
        #expect(try viewer.frames().map(\.text) == [#"{"n":1}"#, #"{"n":2}"#])
        #expect(viewer.isOpen)
    }

    @Test("a revoked device's viewer is closed with 1008 revoked, its queue dropped")
    func revoked() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        viewer.channel.isWritable = false
        viewer.connection.send(ByteBuffer(string: "{}"), seq: 1)
        viewer.connection.revoke()
        try expectClosed(viewer, code: 1008, reason: "revoked")
    }

    @Test("stopping the session closes its viewers with 1000")
    func sessionStopped() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        var done = false
        viewer.session.archive { done = true }
        #expect(done, "no agent to wait for")
        try expectClosed(viewer, code: 1000)
    }

    @Test("a viewer of a stopped session is closed with 1011 at once, without a hello")
    func attachToStopped() throws {
        let viewer = try Viewer(prepare: { $0.archive {} })
        defer { viewer.tearDown() }
        try expectClosed(viewer, code: 1011, reason: "session is stopped")
    }

    @Test("a connection that goes away is detached from its session")
    func detachOnClose() throws {
        let viewer = try Viewer.attached()
        defer { viewer.tearDown() }
        #expect(viewer.session.clients.count == 1)
        try viewer.channel.close().wait()
        #expect(viewer.session.clients.isEmpty)
        #expect(viewer.connection.isClosing)
    }
}
