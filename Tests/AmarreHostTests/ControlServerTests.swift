import AmarreCore
import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import AmarreHost

// The control socket below the end-to-end tier. `ControlLineDecoder` is driven on an
// `EmbeddedChannel`, read by read. `ControlHandler` is private to ControlServer.swift (out of
// reach even of `@testable`), so the connection as a whole — decoder, handler, `SessionHost` —
// is driven through `ControlServer.bind` on a Unix socket in the test's scratch directory.

/// The lines a decoder on `channel` has passed on so far, as strings.
private func decodedLines(_ channel: EmbeddedChannel) throws -> [String] {
    var out: [String] = []
    while let line = try channel.readInbound(as: ByteBuffer.self) { out.append(String(buffer: line)) }
    return out
}

private func lineDecoderChannel(maxBytes: Int) -> EmbeddedChannel {
    EmbeddedChannel(handler: ByteToMessageHandler(ControlLineDecoder(maxBytes: maxBytes)))
}

@Suite("ControlLineDecoder on an EmbeddedChannel")
struct ControlLineDecoderTests {
    @Test("a request split across many reads is passed on once, whole, when its newline arrives")
    func splitAcrossReads() throws {
        let channel = lineDecoderChannel(maxBytes: 1024)
        let line = #"{"getSession":{"_0":"abc"}}"#
        for byte in line.utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            #expect(try decodedLines(channel).isEmpty)
        }
        try channel.writeInbound(ByteBuffer(string: "\n"))
        #expect(try decodedLines(channel) == [line])
        #expect(try channel.finish().isClean)
    }

    @Test("several requests in one read are passed on in order, and the rest waits for its newline")
    func severalInOneRead() throws {
        let channel = lineDecoderChannel(maxBytes: 1024)
        try channel.writeInbound(ByteBuffer(string: "one\ntwo\n\nthree\nfo"))
        // An empty line is a line (the handler answers it bad_request).
        #expect(try decodedLines(channel) == ["one", "two", "", "three"])
        try channel.writeInbound(ByteBuffer(string: "ur\nfive"))
        #expect(try decodedLines(channel) == ["four"])
        try channel.writeInbound(ByteBuffer(string: "\n"))
        #expect(try decodedLines(channel) == ["five"])
        #expect(try channel.finish().isClean)
    }

    @Test("the newline is found after reads that did not hold one (the searched offset)")
    func searchedOffset() throws {
        let channel = lineDecoderChannel(maxBytes: 1024)
        try channel.writeInbound(ByteBuffer(string: "abc"))
        try channel.writeInbound(ByteBuffer(string: "def"))
        try channel.writeInbound(ByteBuffer(string: "g\nhi"))
        #expect(try decodedLines(channel) == ["abcdefg"])
        // The offset starts over for the next line: its newline is found in its first byte.
        try channel.writeInbound(ByteBuffer(string: "\n"))
        #expect(try decodedLines(channel) == ["hi"])
        try channel.writeInbound(ByteBuffer(string: "j"))
        try channel.writeInbound(ByteBuffer(string: "\nk\n"))
        #expect(try decodedLines(channel) == ["j", "k"])
        #expect(try channel.finish().isClean)
    }

    @Test("a line of exactly the limit is accepted; one byte more without a newline is an error")
    func limit() throws {
        let ok = lineDecoderChannel(maxBytes: 8)
        try ok.writeInbound(ByteBuffer(string: "12345678"))
        try ok.writeInbound(ByteBuffer(string: "\n"))
        #expect(try decodedLines(ok) == ["12345678"])
        #expect(try ok.finish().isClean)

        let tooLong = lineDecoderChannel(maxBytes: 8)
        try tooLong.writeInbound(ByteBuffer(string: "1234"))
        #expect(throws: ControlLineDecoder.MessageTooLong.self) {
            try tooLong.writeInbound(ByteBuffer(string: "56789"))
        }
        #expect(try decodedLines(tooLong).isEmpty)
        _ = try? tooLong.finish()  // the decoder is in its error state; what it says at close is NIO's
    }

    @Test("a partial line at the end of the connection is dropped, never passed on")
    func partialLineAtEOF() throws {
        let channel = lineDecoderChannel(maxBytes: 1024)
        try channel.writeInbound(ByteBuffer(string: "done\n{\"health\":{}}"))
        #expect(try decodedLines(channel) == ["done"])
        #expect(try channel.finish().isClean)
    }
}

// MARK: the control connection, on a Unix socket

private func instances(_ dir: String) -> [InstanceConfig] {
    [InstanceConfig(id: "cat", agent: .command, command: ["cat"])]
}

/// Binds the real control server of `h`'s host in its scratch directory.
private func bindControl(_ h: HostHarness) async throws -> String {
    let path = h.dir + "/control.sock"
    let host = h.host
    let group = h.group
    _ = try await h.loop.flatSubmit { ControlServer.bind(host: host.value, path: path, group: group) }.get()
    return path
}

private func responses(_ bytes: [UInt8]) throws -> [ControlResponse] {
    try lines(bytes).map { try ControlProtocol.decode(ControlResponse.self, from: $0) }
}

private let malformed = ControlResponse.failure(.badRequest("malformed control request"))

@Suite("ControlServer: one connection, over its Unix socket")
struct ControlServerTests {
    @Test("several requests in one write are answered in order, one line each, and the connection stays open")
    func pipelinedInOrder() async throws {
        try await HostHarness.with(instances: instances) { h in
            let client = try await RawSocketClient.connect(try await bindControl(h), group: h.group)
            var bytes: [UInt8] = []
            bytes += try ControlProtocol.encode(ControlRequest.health)
            bytes += try ControlProtocol.encode(ControlRequest.listInstances)
            bytes += try ControlProtocol.encode(ControlRequest.getSession(SessionID.random()))
            bytes += Array("this is not json\n".utf8)
            bytes += Array("\n".utf8)
            bytes += try ControlProtocol.encode(ControlRequest.listSessions)
            bytes += try ControlProtocol.encode(ControlRequest.health)
            try await client.send(bytes)
            let received = try await client.until("seven answers") { newlineCount($0) >= 7 }
            let answers = try responses(received)
            #expect(received.last == 0x0A)
            #expect(answers.count == 7)
            guard answers.count == 7 else { return }
            let health = ControlResponse.health(HostHealth(sessions: 0, running: 0, version: ControlProtocol.version))
            #expect(answers[0] == health)
            #expect(answers[1] == .instances([InstanceInfo(id: "cat", agent: "command")]))
            #expect(answers[2] == .failure(.notFound))
            #expect(answers[3] == malformed)
            #expect(answers[4] == malformed)
            guard case .sessionsJSON(let list) = answers[5] else {
                Issue.record("listSessions answered \(answers[5])")
                return
            }
            #expect(try list.decode([SessionSummary].self).isEmpty)
            #expect(answers[6] == health)
            // The malformed lines did not end the connection: it still answers.
            try await client.send(try ControlProtocol.encode(ControlRequest.health))
            let more = try await client.until("an eighth answer") { newlineCount($0) >= 8 }
            #expect(try responses(more).last == health)
            #expect(!client.isClosed)
            await client.close()
        }
    }

    @Test("a malformed line is answered failure bad_request, on the wire as the API reads it")
    func malformedBytes() async throws {
        try await HostHarness.with(instances: instances) { h in
            let client = try await RawSocketClient.connect(try await bindControl(h), group: h.group)
            // Valid JSON, but not a request; then JSON cut short.
            try await client.send(#"{"noSuchRequest":{}}"# + "\n" + #"{"health":"# + "\n")
            let received = try await client.until("two answers") { newlineCount($0) >= 2 }
            let answerLines = lines(received).map { String(decoding: $0, as: UTF8.self) }
            #expect(answerLines.count == 2)
            for line in answerLines {
                #expect(line.contains(#""bad_request""#), "\(line)")
                #expect(line.contains(#""malformed control request""#), "\(line)")
            }
            #expect(try responses(received) == [malformed, malformed])
            await client.close()
        }
    }

    @Test("a request written a few bytes at a time is answered once")
    func splitAcrossWrites() async throws {
        try await HostHarness.with(instances: instances) { h in
            let client = try await RawSocketClient.connect(try await bindControl(h), group: h.group)
            let request = try ControlProtocol.encode(
                ControlRequest.createSession(CreateSessionRequest(instanceId: "cat", name: "split", cwd: h.dir)))
            var i = 0
            while i < request.count {
                try await client.send(Array(request[i..<min(i + 3, request.count)]))
                i += 3
                // Let some of the pieces reach the server as reads of their own.
                if i % 15 == 0 { try await Task.sleep(for: .milliseconds(1)) }
            }
            let received = try await client.until("the answer") { newlineCount($0) >= 1 }
            let answers = try responses(received)
            #expect(answers.count == 1)
            guard case .sessionJSON(let json)? = answers.first else {
                Issue.record("create answered \(answers)")
                return
            }
            let summary = try json.decode(SessionSummary.self)
            #expect(summary.name == "split")
            #expect(summary.status == .running)
            #expect(try await h.listedIDs() == [summary.id])
            // Nothing more is answered: exactly one session was made.
            try await client.send(try ControlProtocol.encode(ControlRequest.health))
            let more = try await client.until("the health answer") { newlineCount($0) >= 2 }
            #expect(
                try responses(more).last
                    == .health(HostHealth(sessions: 1, running: 1, version: ControlProtocol.version)))
            await client.close()
        }
    }

    @Test("a line over the limit closes the connection with no answer; what came before it is answered")
    func overTheLimit() async throws {
        try await HostHarness.with(instances: instances) { h in
            let path = try await bindControl(h)
            let client = try await RawSocketClient.connect(path, group: h.group)
            try await client.send(try ControlProtocol.encode(ControlRequest.health))
            try await client.until("the health answer") { newlineCount($0) >= 1 }
            // ControlProtocol.maxMessageBytes + 1 bytes without a newline, 1 MiB at a time.
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            var sent = 0
            while sent <= ControlProtocol.maxMessageBytes, !client.isClosed {
                let piece = min(chunk.count, ControlProtocol.maxMessageBytes + 1 - sent)
                do {
                    try await client.send(Array(chunk[0..<piece]))
                } catch {
                    break  // the server closed the connection while we wrote
                }
                sent += piece
            }
            let received = try await client.untilClosed(timeout: .seconds(30))
            #expect(newlineCount(received) == 1, "only the health request is answered")
            #expect(received.last == 0x0A)
            // The host still serves new connections.
            let next = try await RawSocketClient.connect(path, group: h.group)
            try await next.send(try ControlProtocol.encode(ControlRequest.health))
            let answer = try await next.until("an answer on a new connection") { newlineCount($0) >= 1 }
            #expect(
                try responses(answer) == [.health(HostHealth(sessions: 0, running: 0, version: ControlProtocol.version))])
            await next.close()
        }
    }

    @Test("answers go to the connection that asked: two clients interleaved")
    func twoConnections() async throws {
        try await HostHarness.with(instances: instances) { h in
            let path = try await bindControl(h)
            let a = try await RawSocketClient.connect(path, group: h.group)
            let b = try await RawSocketClient.connect(path, group: h.group)
            let unknown = SessionID.random()
            // Half a request on a, a whole one on b, then the rest of a's.
            let aRequest = try ControlProtocol.encode(ControlRequest.getSession(unknown))
            try await a.send(Array(aRequest[0..<5]))
            try await b.send(try ControlProtocol.encode(ControlRequest.listInstances))
            try await b.until("b's answer") { newlineCount($0) >= 1 }
            #expect(a.received.snapshot.bytes.isEmpty)
            try await a.send(Array(aRequest[5...]))
            let aAnswer = try await a.until("a's answer") { newlineCount($0) >= 1 }
            #expect(try responses(aAnswer) == [.failure(.notFound)])
            #expect(try responses(b.received.snapshot.bytes) == [.instances([InstanceInfo(id: "cat", agent: "command")])])
            await a.close()
            await b.close()
        }
    }
}
