/// UTF-8 validation (RFC 3629): of records relayed in WebSocket text frames, which must be valid
/// UTF-8, and of the contents of every JSON string (`JSONTokenizer` calls `sequenceLength`).
/// The rules for a multi-byte sequence live in `sequenceLength` only.
public enum UTF8Validation {
    /// True when `bytes` is well-formed UTF-8 (RFC 3629). ASCII runs are checked eight bytes
    /// at a time, so JSON text costs little.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            // Fast path: eight ASCII bytes at a time.
            while i + 8 <= n, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
            }
            guard i < n else { return true }
            if bytes[i] < 0x80 {
                i += 1
                continue
            }
            let length = sequenceLength(bytes, at: i)
            guard length != 0 else { return false }
            i += length
        }
        return true
    }

    public static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        if let r = bytes.withContiguousStorageIfAvailable({ isValid(UnsafeRawBufferPointer($0)) }) { return r }
        return Array(bytes).withUnsafeBytes { isValid($0) }
    }

    /// The length (2 to 4) of the well-formed multi-byte sequence that starts at `i`, whose
    /// first byte is not ASCII; 0 when it is not one: a stray continuation byte, an overlong
    /// form, a surrogate, a code point above U+10FFFF, or a sequence cut short by the end of
    /// `bytes`.
    @inline(__always)
    static func sequenceLength(_ bytes: UnsafeRawBufferPointer, at i: Int) -> Int {
        let b0 = UInt32(bytes[i])
        let available = bytes.count - i
        if b0 & 0xE0 == 0xC0 {
            // C0 and C1 could only start overlong forms of ASCII.
            guard b0 >= 0xC2, available >= 2, bytes[i + 1] & 0xC0 == 0x80 else { return 0 }
            return 2
        }
        if b0 & 0xF0 == 0xE0 {
            guard available >= 3 else { return 0 }
            let b1 = UInt32(bytes[i + 1])
            let b2 = UInt32(bytes[i + 2])
            guard (b1 | b2 << 8) & 0xC0C0 == 0x8080 else { return 0 }
            let scalar = (b0 & 0x0F) << 12 | (b1 & 0x3F) << 6 | b2 & 0x3F
            // Not overlong, not a surrogate.
            guard scalar >= 0x800, scalar & 0xF800 != 0xD800 else { return 0 }
            return 3
        }
        if b0 & 0xF8 == 0xF0 {
            guard available >= 4 else { return 0 }
            let b1 = UInt32(bytes[i + 1])
            let b2 = UInt32(bytes[i + 2])
            let b3 = UInt32(bytes[i + 3])
            guard (b1 | b2 << 8 | b3 << 16) & 0xC0_C0C0 == 0x80_8080 else { return 0 }
            let scalar = (b0 & 0x07) << 18 | (b1 & 0x3F) << 12 | (b2 & 0x3F) << 6 | b3 & 0x3F
            // Not overlong, not above U+10FFFF.
            guard scalar >= 0x1_0000, scalar <= 0x10_FFFF else { return 0 }
            return 4
        }
        return 0
    }
}
