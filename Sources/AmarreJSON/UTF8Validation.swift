/// UTF-8 validation for records relayed in WebSocket text frames, which must be valid UTF-8.
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
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            var need: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; upper = 0x9F
            case 0xF0: need = 3; lower = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; upper = 0x8F
            default: return false
            }
            guard n - i > need else { return false }
            let b1 = bytes[i + 1]
            guard b1 >= lower && b1 <= upper else { return false }
            for k in 2..<(need + 1) where bytes[i + k] & 0xC0 != 0x80 { return false }
            i += need + 1
        }
        return true
    }

    public static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        if let r = bytes.withContiguousStorageIfAvailable({ isValid(UnsafeRawBufferPointer($0)) }) { return r }
        return Array(bytes).withUnsafeBytes { isValid($0) }
    }
}
