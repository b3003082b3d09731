/// One-time pairing codes the owner hands out (`amarre pair`): 130 random bits written as
/// 26 lowercase base32 characters, single use, valid for a set time. Only hashes are kept,
/// in memory: a host restart forgets them, and `amarre pair` makes a new one.
public struct PairingCodes: Sendable {
    /// Codes waiting at once; the oldest goes first past this.
    public static let maxPending = 64
    static let codeBytes = 17  // 136 bits, 27 base32 characters cut to 26 (130 bits)
    public static let codeLength = 26

    struct Pending: Sendable {
        var hash: [UInt8]
        var name: String?
        var expires: Int64
    }

    private var pending: [Pending] = []

    public init() {}

    /// A new code, valid until `now + ttlMs`.
    public mutating func create(name: String?, now: Int64, ttlMs: Int64) -> String {
        prune(now: now)
        let code = String(Secrets.base32(Secrets.randomBytes(PairingCodes.codeBytes)).prefix(PairingCodes.codeLength))
        if pending.count >= PairingCodes.maxPending { pending.removeFirst() }
        pending.append(Pending(hash: Secrets.sha256(code), name: name, expires: now + ttlMs))
        return code
    }

    /// Redeems `code` (normalised: lowercase, spaces and dashes dropped). On success the code
    /// is used up and the name it was made with is returned (`.some(nil)` when it had none);
    /// nil for a wrong, expired or used code.
    public mutating func redeem(_ code: String, now: Int64) -> String?? {
        prune(now: now)
        let normalised = PairingCodes.normalise(code)
        guard normalised.utf8.count == PairingCodes.codeLength else { return nil }
        let hash = Secrets.sha256(normalised)
        // Every pending code is compared, whichever matches, in constant time each.
        var found: Int?
        for (i, p) in pending.enumerated() where Secrets.constantTimeEqual(p.hash, hash) { found = i }
        guard let found else { return nil }
        return .some(pending.remove(at: found).name)
    }

    public var count: Int { pending.count }

    public static func normalise(_ code: String) -> String {
        String(code.lowercased().filter { $0 != " " && $0 != "-" && $0 != "\t" })
    }

    private mutating func prune(now: Int64) {
        pending.removeAll { $0.expires <= now }
    }
}
