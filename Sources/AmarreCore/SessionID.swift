/// A session's server-issued id: 12 lowercase hex characters, opaque to clients.
public struct SessionID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Accepts only the canonical form, so a path segment can be checked before any lookup.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == SessionID.length,
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        self.rawValue = String(text)
    }

    public static let length = 12

    /// A fresh random id.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> SessionID {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(length)
        for _ in 0..<length { bytes.append(digits[Int(generator.next() % 16)]) }
        // The bytes are ASCII hex digits by construction.
        return SessionID(unchecked: String(decoding: bytes, as: UTF8.self))
    }

    public static func random() -> SessionID {
        var g = SystemRandomNumberGenerator()
        return random(using: &g)
    }

    private init(unchecked: String) { self.rawValue = unchecked }

    public var description: String { rawValue }
    public static func < (a: SessionID, b: SessionID) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let id = SessionID(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a session id: \(s)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
