import AmarreCore
import Foundation
import Logging
import NIOCore
import NIOEmbedded
// Not a declared dependency of this test target (only of AmarreHost), as in
// ClientConnectionEmbeddedTests.swift.
import NIOWebSocket
import Testing

@testable import AmarreHost

// The inbound frame path of an upgraded connection on an `EmbeddedChannel`, built as the server
// builds it: what `NIOWebSocketServerUpgrader` adds (NIO's frame encoder, decoder with
// `maxFrameSize` = the message limit, and protocol error handler), then
// `WebSocketServer.addClientHandlers` (the frame checker, NIO's fragment aggregator, the
// `ClientConnection`). The tests write the bytes a browser writes and read the bytes the server
// writes back. A `Tap` between the aggregator and the connection records the frames the
// connection is handed: its session has no agent (nothing is spawned) and drops what clients
// send, so "delivered" is what the connection was handed. The real socket and a real agent are
// in WebSocketHandshakeTests (a fragmented message echoed once by `cat`).
//
// Synchronous: an `EmbeddedEventLoop` may only be used from the thread that made it.

private let quiet = Logger(label: "amarre.test", factory: { _ in SwiftLogNoOpLogHandler() })

private enum Op {
    static let continuation: UInt8 = 0x0
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA
}

/// A frame as a browser writes it: masked unless told otherwise, `rsv` the three reserved bits.
private func wire(
    _ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0
) -> [UInt8] {
    let key: [UInt8] = [0xA1, 0x0B, 0x5C, 0xE7]
    let mask: UInt8 = masked ? 0x80 : 0
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    switch payload.count {
    case ..<126:
        out.append(mask | UInt8(payload.count))
    case ..<65536:
        out += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default:
        out.append(mask | 127)
        out += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
    }
    if masked {
        out += key
        out += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    } else {
        out += payload
    }
    return out
}

private func wire(_ opcode: UInt8, _ text: String, fin: Bool = true) -> [UInt8] {
    wire(opcode, Array(text.utf8), fin: fin)
}

/// A frame as the server wrote it.
private struct SentFrame: Equatable, CustomStringConvertible {
    var fin: Bool
    var rsv: UInt8
    var opcode: UInt8
    var masked: Bool
    var payload: [UInt8]

    var closeCode: UInt16? {
        guard opcode == Op.close, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }

    var description: String {
        "SentFrame(fin: \(fin), opcode: \(opcode), payload: \(String(decoding: payload, as: UTF8.self)))"
    }

    /// The whole frames at the start of `bytes`, removed from it (a partial one is left).
    static func take(_ bytes: inout [UInt8]) -> [SentFrame] {
        var frames: [SentFrame] = []
        var i = 0
        while bytes.count - i >= 2 {
            let masked = bytes[i + 1] & 0x80 != 0
            var length = Int(bytes[i + 1] & 0x7F)
            var at = i + 2
            if length == 126 {
                guard bytes.count - at >= 2 else { break }
                length = Int(bytes[at]) << 8 | Int(bytes[at + 1])
                at += 2
            } else if length == 127 {
                guard bytes.count - at >= 8 else { break }
                length = bytes[at..<(at + 8)].reduce(0) { $0 << 8 | Int($1) }
                at += 8
            }
            if masked { at += 4 }
            guard bytes.count - at >= length else { break }
            frames.append(
                SentFrame(
                    fin: bytes[i] & 0x80 != 0, rsv: (bytes[i] >> 4) & 0x7, opcode: bytes[i] & 0x0F, masked: masked,
                    payload: Array(bytes[at..<(at + length)])))
            i = at + length
        }
        bytes.removeFirst(i)
        return frames
    }
}

/// Records the frames that pass it, inbound, and passes them on.
private final class Tap: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    private(set) var frames: [WebSocketFrame] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }

    /// The text and binary messages handed over so far: opcode and unmasked payload.
    var messages: [(opcode: WebSocketOpcode, payload: [UInt8])] {
        frames.filter { $0.opcode == .text || $0.opcode == .binary }.map {
            ($0.opcode, Array($0.unmaskedData.readableBytesView))
        }
    }
}

/// One viewer of a session that has no agent, behind the server's inbound frame pipeline.
private final class WireViewer {
    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel
    let host: SessionHost
    let session: Session
    let tap = Tap()
    private var pending: [UInt8] = []

    init(maxMessageBytes: Int = 1 << 16) throws {
        var configuration = AmarreConfiguration(stateDir: "/nonexistent/amarre-embedded-test")
        configuration.auth = .none
        host = SessionHost(configuration: configuration, eventLoop: loop, logger: quiet, store: nil, serverEnvironment: [:])
        let instance = InstanceConfig(id: "cat", agent: .command, command: ["cat"])
        session = Session(id: SessionID.random(), instance: instance, request: CreateSessionRequest(instanceId: "cat"), host: host)
        channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        let limits = ClientConnection.Limits(
            maxMessageBytes: maxMessageBytes, queueBytes: 1 << 16, pingInterval: .seconds(30), stallTimeout: .seconds(30))
        let pipeline = channel.pipeline.syncOperations
        // What `NIOWebSocketServerUpgrader` adds with `automaticErrorHandling: true`.
        try pipeline.addHandler(WebSocketFrameEncoder())
        try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: limits.maxMessageBytes)))
        try pipeline.addHandler(WebSocketProtocolErrorHandler())
        let connection = ClientConnection(session: session, since: nil, limits: limits, logger: quiet)
        try WebSocketServer.addClientHandlers(connection, limits: limits, to: pipeline)
        try pipeline.addHandler(tap, position: .before(connection))
        let hello = try sent()
        #expect(hello.count == 1 && hello.first?.opcode == Op.text, "the hello comes first: \(hello)")
    }

    /// Writes `frames` as one read each.
    func send(_ frames: [UInt8]...) throws {
        for frame in frames { try channel.writeInbound(ByteBuffer(bytes: frame)) }
    }

    /// Writes `frames` as one read.
    func sendTogether(_ frames: [[UInt8]]) throws {
        try channel.writeInbound(ByteBuffer(bytes: frames.flatMap { $0 }))
    }

    /// The frames the server wrote since the last call.
    func sent() throws -> [SentFrame] {
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { pending += buffer.readableBytesView }
        return SentFrame.take(&pending)
    }

    var isOpen: Bool { channel.isActive }

    func tearDown() {
        _ = try? channel.finish(acceptAlreadyClosed: true)
        try? loop.syncShutdownGracefully()
    }
}

/// The server wrote exactly one close frame, with `code` and no reason, and closed the
/// connection; the connection was handed `handed` messages in all.
private func expectClosed(
    _ viewer: WireViewer, code: UInt16, handed: Int = 0, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let frames = try viewer.sent()
    let expected = SentFrame(
        fin: true, rsv: 0, opcode: Op.close, masked: false, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
    #expect(frames == [expected], sourceLocation: sourceLocation)
    #expect(!viewer.isOpen, "the connection is closed", sourceLocation: sourceLocation)
    #expect(viewer.session.clients.isEmpty, "the viewer is detached", sourceLocation: sourceLocation)
    #expect(viewer.tap.messages.count == handed, "\(viewer.tap.messages)", sourceLocation: sourceLocation)
}

/// Bytes on the wire a peer must not send, and the close code they earn.
struct WireViolation: Sendable, CustomTestStringConvertible {
    let name: String
    let frames: [[UInt8]]
    let code: UInt16
    /// Whole messages handed to the connection (the last one refused by it, for UTF-8).
    var handed = 0
    var testDescription: String { "\(name) → \(code)" }

    static let limit = 100
    static let all: [WireViolation] = [
        WireViolation(name: "a continuation without a start", frames: [wire(Op.continuation, "{}")], code: 1002),
        WireViolation(
            name: "a non-final continuation without a start", frames: [wire(Op.continuation, "{", fin: false)],
            code: 1002),
        WireViolation(
            name: "a continuation after a whole fragmented message",
            frames: [wire(Op.text, "{", fin: false), wire(Op.continuation, "}"), wire(Op.continuation, "{}")],
            code: 1002, handed: 1),
        WireViolation(
            name: "a new text message inside a fragmented one",
            frames: [wire(Op.text, "{", fin: false), wire(Op.text, "{}")], code: 1002),
        WireViolation(
            name: "a new fragmented message inside a fragmented one",
            frames: [wire(Op.text, "{", fin: false), wire(Op.text, "{", fin: false)], code: 1002),
        WireViolation(
            name: "a binary frame inside a fragmented text",
            frames: [wire(Op.text, "{", fin: false), wire(Op.binary, [0])], code: 1002),
        WireViolation(
            name: "RSV1 on a continuation",
            frames: [wire(Op.text, "{", fin: false), wire(Op.continuation, Array("}".utf8), rsv: 0b100)], code: 1002),
        WireViolation(
            name: "RSV3 on a first fragment", frames: [wire(Op.text, Array("{".utf8), fin: false, rsv: 0b001)],
            code: 1002),
        WireViolation(
            name: "an unmasked continuation",
            frames: [wire(Op.text, "{", fin: false), wire(Op.continuation, Array("}".utf8), masked: false)], code: 1002),
        WireViolation(
            name: "a reserved opcode between fragments",
            frames: [wire(Op.text, "{", fin: false), wire(0x3, [1]), wire(Op.continuation, "}")], code: 1002),
        WireViolation(
            name: "a fragmented ping (NIO's decoder)",
            frames: [wire(Op.text, "{", fin: false), wire(Op.ping, [1], fin: false)], code: 1002),
        WireViolation(
            name: "invalid UTF-8 across fragments",
            frames: [wire(Op.text, [0x22, 0xE2, 0x82], fin: false), wire(Op.continuation, [0x28, 0x22])], code: 1007,
            handed: 1),
        WireViolation(
            name: "a fragmented text ending inside a character",
            frames: [wire(Op.text, [0x22, 0x22], fin: false), wire(Op.continuation, [0xE2, 0x82])], code: 1007,
            handed: 1),
        WireViolation(
            name: "a fragmented message one byte over the limit",
            frames: [
                wire(Op.text, [UInt8](repeating: 0x20, count: 60), fin: false),
                wire(Op.continuation, [UInt8](repeating: 0x20, count: limit - 60 + 1)),
            ], code: 1009),
        WireViolation(
            name: "non-final fragments over the limit",
            frames: [
                wire(Op.text, [UInt8](repeating: 0x20, count: 60), fin: false),
                wire(Op.continuation, [UInt8](repeating: 0x20, count: 60), fin: false),
            ], code: 1009),
        WireViolation(
            name: "a first fragment over the limit (NIO's decoder)",
            frames: [wire(Op.text, [UInt8](repeating: 0x20, count: limit + 1), fin: false)], code: 1009),
    ]
}

@Suite("WebSocket frames through the server's inbound pipeline (EmbeddedChannel)")
struct WebSocketFramePipelineTests {
    @Test("a message in three fragments with a ping and a pong between them: one pong, one message handed over")
    func fragmentsWithPing() throws {
        let viewer = try WireViewer()
        defer { viewer.tearDown() }
        try viewer.send(wire(Op.text, #"{"a":"#, fin: false), wire(Op.ping, "mid"))
        #expect(try viewer.sent() == [SentFrame(fin: true, rsv: 0, opcode: Op.pong, masked: false, payload: Array("mid".utf8))])
        #expect(viewer.tap.messages.isEmpty, "nothing is handed over before the last fragment")
        try viewer.send(wire(Op.continuation, #""b""#, fin: false), wire(Op.pong, "unasked"))
        #expect(viewer.tap.messages.isEmpty)
        try viewer.send(wire(Op.continuation, "}"))
        #expect(try viewer.sent().isEmpty)
        // The connection is handed the ping, the pong and the joined message, in that order.
        #expect(viewer.tap.frames.map(\.opcode) == [.ping, .pong, .text])
        let message = try #require(viewer.tap.frames.last)
        #expect(message.fin && !message.rsv1 && !message.rsv2 && !message.rsv3)
        #expect(String(decoding: message.unmaskedData.readableBytesView, as: UTF8.self) == #"{"a":"b"}"#)
        #expect(viewer.isOpen)
        #expect(viewer.session.clients.count == 1)

        // The aggregator starts afresh: the same again in one read, and a whole message after it.
        try viewer.sendTogether([
            wire(Op.text, "[1,", fin: false), wire(Op.ping, "again"), wire(Op.continuation, "2,", fin: false),
            wire(Op.continuation, "3]"), wire(Op.text, "{}"),
        ])
        #expect(try viewer.sent().map(\.opcode) == [Op.pong])
        #expect(viewer.tap.messages.map { String(decoding: $0.payload, as: UTF8.self) } == [#"{"a":"b"}"#, "[1,2,3]", "{}"])
        #expect(viewer.isOpen)
    }

    @Test("a fragmented binary message is handed over whole, and answered binary_frame once")
    func fragmentedBinary() throws {
        let viewer = try WireViewer()
        defer { viewer.tearDown() }
        try viewer.send(wire(Op.binary, [1], fin: false), wire(Op.continuation, [2], fin: false), wire(Op.continuation, [3]))
        #expect(viewer.tap.messages.map(\.opcode) == [.binary])
        #expect(viewer.tap.messages.map(\.payload) == [[1, 2, 3]])
        let error = #"{"type":"amarre.error","error":"binary_frame","detail":"binary frames are not forwarded"}"#
        #expect(try viewer.sent().map { String(decoding: $0.payload, as: UTF8.self) } == [error])
        #expect(viewer.isOpen)
    }

    @Test("a fragmented message of exactly the limit is handed over")
    func atTheLimit() throws {
        let viewer = try WireViewer(maxMessageBytes: WireViolation.limit)
        defer { viewer.tearDown() }
        try viewer.send(
            wire(Op.text, [UInt8](repeating: 0x20, count: 60), fin: false),
            wire(Op.continuation, [UInt8](repeating: 0x20, count: WireViolation.limit - 60)))
        #expect(viewer.tap.messages.map(\.payload.count) == [WireViolation.limit])
        #expect(try viewer.sent().isEmpty)
        #expect(viewer.isOpen)
    }

    @Test("bytes a peer must not send: one close frame with the code they earn", arguments: WireViolation.all)
    func violation(_ violation: WireViolation) throws {
        let viewer = try WireViewer(maxMessageBytes: WireViolation.limit)
        defer { viewer.tearDown() }
        for frame in violation.frames { try viewer.send(frame) }
        try expectClosed(viewer, code: violation.code, handed: violation.handed)
    }

    @Test("4096 fragments are one message; a message whose 4096th fragment is not its last is closed with 1008")
    func fragmentCount() throws {
        let viewer = try WireViewer()
        defer { viewer.tearDown() }
        let max = ClientConnection.Limits.maxFragments
        #expect(max == 4096)
        var message = [wire(Op.text, "{", fin: false)]
        message += Array(repeating: wire(Op.continuation, [], fin: false), count: max - 2)
        message.append(wire(Op.continuation, "}"))
        #expect(message.count == max)
        try viewer.sendTogether(message)
        #expect(viewer.tap.messages.map(\.payload) == [Array("{}".utf8)])
        #expect(try viewer.sent().isEmpty)
        #expect(viewer.isOpen)

        // The next message: 4095 fragments are not too many yet (a ping between them is answered)...
        try viewer.sendTogether(Array(message.dropLast()) + [wire(Op.ping, "p")])
        #expect(try viewer.sent().map(\.opcode) == [Op.pong])
        #expect(viewer.isOpen)
        // ... the 4096th, not the last, makes it more than 4096: 1008.
        try viewer.send(wire(Op.continuation, [], fin: false))
        try expectClosed(viewer, code: 1008, handed: 1)
    }

    @Test("a close between fragments is echoed and the partial message dropped")
    func closeBetweenFragments() throws {
        let viewer = try WireViewer()
        defer { viewer.tearDown() }
        try viewer.send(wire(Op.text, "{", fin: false), wire(Op.close, [0x03, 0xE8] + Array("bye".utf8)))
        try expectClosed(viewer, code: 1000)
    }
}

@Suite("ClientFrameChecker")
struct ClientFrameCheckerTests {
    /// A masked frame whose payload is a 3-byte slice of a 64 KiB buffer (as NIO's decoder
    /// slices frames out of what it read).
    private func slicedFrame(_ opcode: WebSocketOpcode, fin: Bool) -> (WebSocketFrame, WebSocketMaskingKey) {
        let key = WebSocketMaskingKey([1, 2, 3, 4])!
        var big = ByteBuffer(repeating: 0, count: 1 << 16)
        big.moveReaderIndex(forwardBy: 100)
        var data = big.readSlice(length: 3)!
        data.setBytes(Array("abc".utf8), at: data.readerIndex)
        data.webSocketMask(key)
        return (WebSocketFrame(fin: fin, opcode: opcode, maskKey: key, data: data), key)
    }

    @Test("a fragment is handed on unmasked, in a buffer of its own size; a whole message as it came")
    func compactsFragments() throws {
        let channel = EmbeddedChannel(handler: ClientFrameChecker())
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        for (opcode, fin) in [(WebSocketOpcode.text, false), (.continuation, false), (.continuation, true)] {
            let (frame, _) = slicedFrame(opcode, fin: fin)
            try channel.writeInbound(frame)
            let out = try #require(try channel.readInbound(as: WebSocketFrame.self))
            #expect(out.opcode == opcode && out.fin == fin)
            #expect(out.maskKey == nil)
            #expect(Array(out.data.readableBytesView) == Array("abc".utf8))
            #expect(out.data.storageCapacity < 1024, "not the 64 KiB it was sliced from: \(out.data.storageCapacity)")
        }
        let (whole, key) = slicedFrame(.text, fin: true)
        try channel.writeInbound(whole)
        let out = try #require(try channel.readInbound(as: WebSocketFrame.self))
        #expect(out.maskKey == key)
        #expect(Array(out.unmaskedData.readableBytesView) == Array("abc".utf8))
    }

    @Test("a reserved bit or an unmasked frame is an error passed on, and nothing is read after it")
    func violations() throws {
        for bad in [
            WebSocketFrame(fin: true, rsv2: true, opcode: .text, maskKey: WebSocketMaskingKey([1, 2, 3, 4]), data: ByteBuffer()),
            WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer()),
        ] {
            let channel = EmbeddedChannel(handler: ClientFrameChecker())
            defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
            #expect(throws: ClientFrameChecker.Violation.self) { try channel.writeInbound(bad) }
            try channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, maskKey: WebSocketMaskingKey([1, 2, 3, 4]), data: ByteBuffer()))
            #expect(try channel.readInbound(as: WebSocketFrame.self) == nil)
        }
    }
}
