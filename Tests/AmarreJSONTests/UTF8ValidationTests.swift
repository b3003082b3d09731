import AmarreJSON
import AmarreTestSupport
import Testing

private func valid(_ bytes: [UInt8]) -> Bool { UTF8Validation.isValid(bytes) }

@Suite("UTF8Validation")
struct UTF8ValidationTests {
    @Test("empty input and ASCII of every length are valid")
    func ascii() {
        #expect(valid([]))
        for n in 0..<40 {
            #expect(valid(Array(repeating: UInt8(ascii: "a"), count: n)), "length \(n)")
        }
        #expect(valid(Array(0..<0x80)))
    }

    @Test(
        "every encoding length is valid at its edges",
        arguments: [
            [0x7F], [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
            [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        ] as [[UInt8]])
    func edges(bytes: [UInt8]) {
        #expect(valid(bytes))
    }

    @Test("real text is valid")
    func realText() {
        #expect(valid(Array("héllo wörld, €100, 😀 — 日本語".utf8)))
    }

    @Test(
        "truncated sequences are invalid",
        arguments: [[0xC3], [0xE2, 0x82], [0xE2], [0xF0, 0x9F, 0x98], [0xF0, 0x9F], [0xF0]] as [[UInt8]])
    func truncated(bytes: [UInt8]) {
        #expect(!valid(bytes))
        #expect(!valid(Array("abcdefgh".utf8) + bytes))
        #expect(!valid(bytes + Array("abcdefgh".utf8)))
    }

    @Test(
        "overlong encodings are invalid",
        arguments: [
            [0xC0, 0x80], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],
            [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],
        ] as [[UInt8]])
    func overlong(bytes: [UInt8]) {
        #expect(!valid(bytes))
    }

    @Test("encoded surrogates are invalid", arguments: [[0xED, 0xA0, 0x80], [0xED, 0xAF, 0xBF], [0xED, 0xB0, 0x80], [0xED, 0xBF, 0xBF]] as [[UInt8]])
    func surrogates(bytes: [UInt8]) {
        #expect(!valid(bytes))
    }

    @Test(
        "code points above U+10FFFF and impossible bytes are invalid",
        arguments: [
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF7, 0xBF, 0xBF, 0xBF],
            [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], [0xFE], [0xFF],
        ] as [[UInt8]])
    func beyondUnicode(bytes: [UInt8]) {
        #expect(!valid(bytes))
    }

    @Test("stray or missing continuation bytes are invalid", arguments: [[0x80], [0xBF], [0xC3, 0x41], [0xE2, 0x41, 0xAC], [0xE2, 0x82, 0x41], [0xF0, 0x9F, 0x98, 0x41], [0xC3, 0xA9, 0xA9]] as [[UInt8]])
    func continuation(bytes: [UInt8]) {
        #expect(!valid(bytes))
    }

    @Test("a bad byte is found at every offset around the eight-byte fast path")
    func fastPathBoundaries() {
        for length in 1..<34 {
            for bad in 0..<length {
                var bytes = Array(repeating: UInt8(ascii: "x"), count: length)
                bytes[bad] = 0xFF
                #expect(!valid(bytes), "length \(length), bad byte at \(bad)")
                bytes[bad] = 0x80
                #expect(!valid(bytes), "length \(length), stray continuation at \(bad)")
            }
        }
    }

    @Test("a multi-byte character is accepted at every offset and straddling each eight-byte block")
    func multiByteAtEveryOffset() {
        let characters: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80]]
        for character in characters {
            for prefix in 0..<20 {
                let bytes = Array(repeating: UInt8(ascii: "y"), count: prefix) + character
                    + Array(repeating: UInt8(ascii: "z"), count: 17)
                #expect(valid(bytes), "prefix \(prefix), character \(character)")
                // The same character cut short before the ASCII resumes.
                let cut = Array(repeating: UInt8(ascii: "y"), count: prefix) + character.dropLast()
                    + Array(repeating: UInt8(ascii: "z"), count: 17)
                #expect(!valid(cut), "prefix \(prefix), cut character \(character)")
            }
        }
    }

    @Test("agrees with the standard library on every two-byte sequence")
    func allTwoByteSequences() {
        for a in 0...0xFF {
            for b in 0...0xFF {
                let bytes: [UInt8] = [UInt8(a), UInt8(b)]
                let expected = String(validating: bytes, as: UTF8.self) != nil
                if valid(bytes) != expected {
                    Issue.record("disagreement on \(bytes)")
                }
            }
        }
    }

    @Test("agrees with the standard library on three- and four-byte sequences: every lead and second byte")
    func longerSequences() {
        // Later bytes at each edge of the continuation range, and some that start sequences.
        let later: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF]
        var disagreements = 0
        func check(_ bytes: [UInt8]) {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            if valid(bytes) != expected {
                disagreements += 1
                if disagreements < 10 { Issue.record("disagreement on \(bytes)") }
            }
        }
        for a in 0xC0...0xFF {
            for b in 0...0xFF {
                for c in later {
                    check([UInt8(a), UInt8(b), c])
                    if a >= 0xF0 {
                        for d: UInt8 in [0x7F, 0x80, 0xBF, 0xC0] { check([UInt8(a), UInt8(b), c, d]) }
                    }
                }
            }
        }
        #expect(disagreements == 0)
    }

    @Test("agrees with the standard library on random mixed bytes")
    func randomBytes() {
        var rng = SplitMix(seed: 99)
        // Bias towards bytes that start or continue sequences, with ASCII runs to hit the fast path.
        let pool: [UInt8] = Array(0x61...0x68) + [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xC0, 0xFF]
        for _ in 0..<20_000 {
            let count = Int(rng.next() % 24)
            let bytes = (0..<count).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            if valid(bytes) != expected {
                Issue.record("disagreement on \(bytes)")
            }
        }
    }

    @Test("a collection without contiguous storage is validated too")
    func nonContiguous() {
        #expect(UTF8Validation.isValid(Array("é".utf8).lazy.map { $0 }))
        #expect(!UTF8Validation.isValid([UInt8(0xC3)].lazy.map { $0 }))
    }
}
