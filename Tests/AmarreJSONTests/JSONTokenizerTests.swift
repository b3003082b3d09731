@testable import AmarreJSON
import AmarreTestSupport
import Testing

/// Every token of `text`, up to and including `.end` or the first `.invalid`, with its text.
private func tokens(_ text: String) -> [String] {
    Array(text.utf8).withUnsafeBytes { raw in
        var tokenizer = JSONTokenizer(raw)
        var out: [String] = []
        while true {
            let token = tokenizer.next()
            switch token {
            case .beginObject: out.append("{")
            case .endObject: out.append("}")
            case .beginArray: out.append("[")
            case .endArray: out.append("]")
            case .colon: out.append(":")
            case .comma: out.append(",")
            case .true: out.append("true")
            case .false: out.append("false")
            case .null: out.append("null")
            case .number(let range): out.append("#" + tokenizer.text(range))
            case .string(let s): out.append((s.hasEscapes ? "s\\" : "s") + tokenizer.text(s.range) + "=" + tokenizer.string(s))
            case .end: out.append("end"); return out
            case .invalid: out.append("invalid"); return out
            }
        }
    }
}

/// Every event of `text` with the reader's depth after it, up to `.end` or `.invalid`.
private func events(_ text: String) -> [String] {
    Array(text.utf8).withUnsafeBytes { raw in
        var reader = JSONReader(raw)
        var out: [String] = []
        while true {
            let event = reader.next()
            let name: String
            switch event {
            case .beginObject: name = "{"
            case .endObject: name = "}"
            case .beginArray: name = "["
            case .endArray: name = "]"
            case .key(let k): name = "k:" + reader.tokenizer.string(k)
            case .string(let s): name = "s:" + reader.tokenizer.string(s)
            case .number(let r): name = "#" + reader.tokenizer.text(r)
            case .bool(let b): name = b ? "true" : "false"
            case .null: name = "null"
            case .end: name = "end"
            case .invalid: name = "invalid"
            }
            out.append("\(name)@\(reader.depth)")
            if event == .end || event == .invalid { return out }
        }
    }
}

@Suite("JSONTokenizer")
struct JSONTokenizerTests {
    @Test("cuts a text into tokens, punctuation included, without checking the grammar")
    func cutsTokens() {
        #expect(tokens(#" {"a" : [1, -2.5e+3, true,false ,null]} "#)
            == ["{", "sa=a", ":", "[", "#1", ",", "#-2.5e+3", ",", "true", ",", "false", ",", "null", "]", "}", "end"])
        // Grammar is the reader's business: these are tokens all the same.
        #expect(tokens("]]:, 1 2") == ["]", "]", ":", ",", "#1", "#2", "end"])
    }

    @Test("a string token has its contents' range and says whether it holds escapes")
    func stringTokens() {
        #expect(tokens(#""plain""#) == ["splain=plain", "end"])
        #expect(tokens(#""a\nb""#) == [#"s\a\nb=a"# + "\n" + "b", "end"])
        #expect(tokens(#""""#) == ["s=", "end"])
        #expect(tokens(#""\u00e9\uD83D\uDE00\/""#) == [#"s\\u00e9\uD83D\uDE00\/=é😀/"#, "end"])
    }

    @Test("numbers end where their grammar ends; what only starts like one is invalid")
    func numbers() {
        #expect(tokens("01") == ["#0", "#1", "end"])
        #expect(tokens("1.5.") == ["#1.5", "invalid"])
        #expect(tokens("-0.0E-2,") == ["#-0.0E-2", ",", "end"])
        for text in ["-", "-x", "1.", "1.e2", "1e", "1e+", "+1", ".5"] {
            #expect(tokens(text).last == "invalid", "\(text)")
        }
    }

    @Test("literals are exact")
    func literals() {
        #expect(tokens("truefalse null") == ["true", "false", "null", "end"])
        for text in ["tru", "True", "nul", "fals", "nulL", "t"] {
            #expect(tokens(text) == ["invalid"], "\(text)")
        }
    }

    @Test("only space, tab, LF and CR are whitespace; LF and CR are remembered")
    func whitespace() {
        Array(" \t1".utf8).withUnsafeBytes { raw in
            var t = JSONTokenizer(raw)
            _ = t.next()
            #expect(!t.sawNewline)
        }
        for ws in ["\n", "\r"] {
            Array("1\(ws)".utf8).withUnsafeBytes { raw in
                var t = JSONTokenizer(raw)
                #expect(t.next() == .number(0..<1))
                #expect(!t.sawNewline)
                #expect(t.next() == .end)
                #expect(t.sawNewline)
            }
        }
        #expect(tokens("\u{0C}1") == ["invalid"])
        #expect(tokens("\u{A0}1") == ["invalid"])
        #expect(tokens("") == ["end"])
    }

    @Test("a special byte is found at every offset of a string, around the eight-byte steps")
    func stringFastPathBoundaries() {
        for prefix in 0..<20 {
            let pad = String(repeating: "x", count: prefix)
            let suffix = String(repeating: "y", count: prefix % 11)
            // The closing quote.
            #expect(tokens("\"\(pad)\"") == ["s\(pad)=\(pad)", "end"])
            // An escape.
            #expect(tokens("\"\(pad)\\t\(suffix)\"") == ["s\\\(pad)\\t\(suffix)=\(pad)\t\(suffix)", "end"])
            // A character that is not ASCII.
            #expect(tokens("\"\(pad)é\(suffix)\"") == ["s\(pad)é\(suffix)=\(pad)é\(suffix)", "end"])
            // Raw control characters and DEL.
            #expect(tokens("\"\(pad)\u{1F}\(suffix)\"") == ["invalid"])
            #expect(tokens("\"\(pad)\u{0}\(suffix)\"") == ["invalid"])
            #expect(tokens("\"\(pad)\u{7F}\(suffix)\"").count == 2)
            // Unterminated.
            #expect(tokens("\"\(pad)") == ["invalid"])
            #expect(tokens("\"\(pad)\\") == ["invalid"])
        }
    }

    @Test("invalid UTF-8 is found at every offset of a string")
    func stringUTF8Boundaries() {
        let bad: [[UInt8]] = [[0xFF], [0x80], [0xC3], [0xC3, 0x41], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]]
        for prefix in 0..<20 {
            for sequence in bad {
                let bytes = [0x22] + Array(repeating: UInt8(ascii: "x"), count: prefix) + sequence
                    + Array(repeating: UInt8(ascii: "z"), count: prefix % 9) + [0x22]
                bytes.withUnsafeBytes { raw in
                    var t = JSONTokenizer(raw)
                    #expect(t.next() == .invalid, "prefix \(prefix), \(sequence)")
                }
            }
        }
    }

    @Test("decoding copies runs between escapes across the eight-byte steps")
    func decodingRuns() {
        var rng = SplitMix(seed: 3)
        let pieces: [(String, String)] = [
            ("a", "a"), ("bcdefghij", "bcdefghij"), (#"\n"#, "\n"), (#"\\"#, "\\"), (#"\""#, "\""), (#"\/"#, "/"),
            (#"\u0041"#, "A"), (#"\u00e9"#, "é"), (#"\u20AC"#, "€"), (#"\uD83D\uDE00"#, "😀"), ("é", "é"), ("日本", "日本"),
            (#"\u0000"#, "\u{0}"), (#"\b\f\r\t"#, "\u{8}\u{C}\r\t"),
        ]
        for _ in 0..<500 {
            var raw = ""
            var expected = ""
            for _ in 0..<Int(rng.next() % 12) {
                let piece = pieces[Int(rng.next() % UInt64(pieces.count))]
                raw += piece.0
                expected += piece.1
            }
            let decoded = Array("\"\(raw)\"".utf8).withUnsafeBytes { bytes -> String? in
                var t = JSONTokenizer(bytes)
                guard case .string(let s) = t.next() else { return nil }
                return t.string(s)
            }
            #expect(decoded == expected, "\(raw)")
        }
    }
}

@Suite("JSONReader")
struct JSONReaderTests {
    @Test("reports keys and values as events, with the depth after each")
    func eventsAndDepth() {
        #expect(events(#"{"a":[1,{"b":null}],"c":"d"}"#) == [
            "{@1", "k:a@1", "[@2", "#1@2", "{@3", "k:b@3", "null@3", "}@2", "]@1", "k:c@1", "s:d@1", "}@0", "end@0",
        ])
        #expect(events(" true ") == ["true@0", "end@0"])
        #expect(events("[]") == ["[@1", "]@0", "end@0"])
    }

    @Test("grammar errors end the events with invalid, and it stays invalid")
    func grammarErrors() {
        #expect(events("[1,]") == ["[@1", "#1@1", "invalid@1"])
        #expect(events(#"{"a" 1}"#) == ["{@1", "invalid@1"])
        #expect(events(#"{"a":1,}"#) == ["{@1", "k:a@1", "#1@1", "invalid@1"])
        #expect(events("[}") == ["[@1", "invalid@1"])
        #expect(events("{]") == ["{@1", "invalid@1"])
        #expect(events("[1}") == ["[@1", "#1@1", "invalid@1"])
        #expect(events("1 2") == ["#1@0", "invalid@0"])
        #expect(events("") == ["invalid@0"])
        #expect(events("{1:2}") == ["{@1", "invalid@1"])
        Array("[1,]".utf8).withUnsafeBytes { raw in
            var reader = JSONReader(raw)
            while reader.next() != .invalid {}
            #expect(reader.next() == .invalid)
            #expect(reader.next() == .invalid)
        }
        Array("1".utf8).withUnsafeBytes { raw in
            var reader = JSONReader(raw)
            #expect(reader.next() == .number(0..<1))
            #expect(reader.next() == .end)
            #expect(reader.next() == .end)
        }
    }

    @Test("a value may start only inside fewer than maxDepth containers")
    func depth() {
        let n = JSONReader.maxDepth
        #expect(events(String(repeating: "[", count: n) + String(repeating: "]", count: n)).last == "end@0")
        #expect(events(String(repeating: "[", count: n) + "1" + String(repeating: "]", count: n)).last == "invalid@\(n)")
        #expect(events(String(repeating: "[", count: n + 1)).last == "invalid@\(n)")
        #expect(JSONScanner.maxDepth == n && JSONValue.maxParseDepth == n)
    }
}
