import AmarreHost
import NIOCore
import Testing

/// What a splitter emitted, as strings ("!N" for an oversized line of N bytes).
private struct Recorder {
    var splitter: LineSplitter
    var out: [String] = []

    init(limit: Int = 1024) { splitter = LineSplitter(maxRecordBytes: limit) }

    mutating func feed(_ bytes: [UInt8]) {
        var buffer = ByteBuffer(bytes: bytes)
        var got: [String] = []
        splitter.feed(&buffer) { got.append(Recorder.describe($0)) }
        #expect(buffer.readableBytes == 0, "feed must consume all its input")
        out += got
    }

    mutating func feed(_ text: String) { feed(Array(text.utf8)) }

    mutating func finish() {
        var got: [String] = []
        splitter.finish { got.append(Recorder.describe($0)) }
        out += got
    }

    static func describe(_ output: LineSplitter.Output) -> String {
        switch output {
        case .record(let line): String(decoding: line.readableBytesView, as: UTF8.self)
        case .oversized(let bytes): "!\(bytes)"
        }
    }
}

/// Bytes the splitter holds for an unfinished line, read by reflection.
private func heldBytes(_ splitter: LineSplitter) -> Int {
    var total = 0
    for child in Mirror(reflecting: splitter).children {
        // An optional buffer that is set casts to ByteBuffer; nil does not.
        if let buffer = child.value as? ByteBuffer { total += buffer.readableBytes }
    }
    return total
}

@Suite("LineSplitter")
struct LineSplitterTests {
    @Test("splits on newlines")
    func splits() {
        var r = Recorder()
        r.feed("a\nbb\nccc\n")
        #expect(r.out == ["a", "bb", "ccc"])
    }

    @Test("strips exactly one trailing carriage return")
    func stripsOneCR() {
        var r = Recorder()
        r.feed("a\r\nb\r\r\nc\rd\n\re\n")
        #expect(r.out == ["a", "b\r", "c\rd", "\re"])
    }

    @Test("skips empty lines, including a lone carriage return")
    func skipsEmpty() {
        var r = Recorder()
        r.feed("\n\n\r\na\n\n\r\n")
        #expect(r.out == ["a"])
    }

    @Test("a line written in pieces is delivered once, whole")
    func piecesJoined() {
        var r = Recorder()
        r.feed(#"{"type":"#)
        #expect(r.out.isEmpty)
        r.feed(#""x","id""#)
        r.feed(":1}")
        r.feed("\r")
        r.feed("\nnext")
        r.feed("\n")
        #expect(r.out == [#"{"type":"x","id":1}"#, "next"])
    }

    @Test("one byte at a time gives the same records")
    func byteByByte() {
        let text = "first\r\nsecond é😀\n\nthird\n"
        var r = Recorder()
        for b in text.utf8 { r.feed([b]) }
        #expect(r.out == ["first", "second é😀", "third"])
    }

    @Test("a UTF-8 character split across reads is kept intact")
    func utf8AcrossFeeds() throws {
        var r = Recorder()
        r.feed([0x78, 0xF0, 0x9F])
        r.feed([0x98])
        r.feed([0x80, 0x79, 0xC3])
        r.feed([0xA9, 0x0A])
        #expect(r.out == ["x😀yé"])
    }

    @Test("records are byte-exact, even when not valid UTF-8")
    func byteExact() {
        var splitter = LineSplitter(maxRecordBytes: 16)
        var buffer = ByteBuffer(bytes: [0xFF, 0x00, 0xC3, 0x0A])
        var records: [[UInt8]] = []
        splitter.feed(&buffer) { if case .record(let line) = $0 { records.append(Array(line.readableBytesView)) } }
        #expect(records == [[0xFF, 0x00, 0xC3]])
    }

    @Test("a line of exactly the limit is delivered, with or without a carriage return")
    func exactlyLimit() {
        var r = Recorder(limit: 4)
        r.feed("abcd\nabcd\r\n")
        r.feed("ab")
        r.feed("cd\r")
        r.feed("\n")
        #expect(r.out == ["abcd", "abcd", "abcd"])
    }

    @Test("an oversized line is dropped and reported, then the next line is delivered")
    func oversizedThenNext() {
        var r = Recorder(limit: 4)
        r.feed("abcde\nok\n")
        #expect(r.out == ["!5", "ok"])
    }

    @Test("an oversized line built from pieces is dropped and reported")
    func oversizedFromPieces() {
        var r = Recorder(limit: 4)
        r.feed("abc")
        r.feed("de")
        r.feed("\nok\n")
        r.feed("abc")
        r.feed("defg\nxy\n")
        #expect(r.out == ["!5", "ok", "!7", "xy"])
    }

    @Test("an oversized line is detected across many reads without holding its bytes")
    func oversizedAcrossManyFeeds() {
        var r = Recorder(limit: 1000)
        let chunk = [UInt8](repeating: 0x61, count: 300)
        r.feed(chunk)
        r.feed(chunk)
        r.feed(chunk)
        #expect(heldBytes(r.splitter) == 900)
        for _ in 0..<997 {
            r.feed(chunk)
            #expect(heldBytes(r.splitter) == 0)
        }
        #expect(r.out.isEmpty)
        r.feed(Array("tail\r\nnext\n".utf8))
        #expect(r.out == ["!\(1000 * 300 + 5)", "next"])
        #expect(heldBytes(r.splitter) == 0)
    }

    @Test("a large oversized line fed in one piece after a partial line is reported whole")
    func partialThenHugePiece() {
        var r = Recorder(limit: 10)
        r.feed("12345")
        r.feed([UInt8](repeating: 0x62, count: 100) + [0x0A] + Array("z\n".utf8))
        #expect(r.out == ["!105", "z"])
    }

    @Test("finish emits a last line without a newline")
    func finishEmitsLast() {
        var r = Recorder()
        r.feed("a\nlast")
        r.finish()
        #expect(r.out == ["a", "last"])
        r.finish()
        #expect(r.out == ["a", "last"])
    }

    @Test("finish strips a carriage return and skips an empty last line")
    func finishEdgeCases() {
        var r = Recorder()
        r.feed("last\r")
        r.finish()
        var empty = Recorder()
        empty.feed("a\n")
        empty.feed("\r")
        empty.finish()
        #expect(r.out == ["last"])
        #expect(empty.out == ["a"])
    }

    @Test("finish reports an oversized unterminated line")
    func finishOversized() {
        var r = Recorder(limit: 4)
        r.feed("abcdefgh")
        r.finish()
        var slack = Recorder(limit: 4)
        slack.feed("abcde")
        slack.finish()
        #expect(r.out == ["!8"])
        #expect(slack.out == ["!5"])
    }

    @Test("the splitter works again after an oversized line")
    func recovers() {
        var r = Recorder(limit: 3)
        r.feed("toolong")
        r.feed("\n")
        r.feed("ab")
        r.feed("c\n")
        #expect(r.out == ["!7", "abc"])
    }
}
