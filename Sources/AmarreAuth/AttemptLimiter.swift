/// Counts failed attempts per key (a client address) in a sliding window: after
/// `maxFailures` failures within `windowMs`, further attempts are refused (not tried, so not
/// counted) until the oldest of those failures leaves the window.
public struct AttemptLimiter: Sendable {
    public let maxFailures: Int
    public let windowMs: Int64
    /// Keys remembered at once; the one with the oldest last failure is forgotten past it,
    /// so a flood of addresses cannot grow memory.
    public let maxKeys: Int

    private var failures: [String: [Int64]] = [:]

    public init(maxFailures: Int = 5, windowMs: Int64 = 60_000, maxKeys: Int = 4096) {
        self.maxFailures = maxFailures
        self.windowMs = windowMs
        self.maxKeys = maxKeys
    }

    /// Milliseconds until `key` may try again; nil when it may now.
    public mutating func blockedFor(_ key: String, now: Int64) -> Int64? {
        guard var times = failures[key] else { return nil }
        times.removeAll { $0 <= now - windowMs }
        if times.isEmpty {
            failures[key] = nil
            return nil
        }
        failures[key] = times
        guard times.count >= maxFailures else { return nil }
        // Blocked until enough failures have left the window to be under the limit again.
        return times[times.count - maxFailures] + windowMs - now
    }

    public mutating func recordFailure(_ key: String, now: Int64) {
        if failures[key] == nil, failures.count >= maxKeys,
            let oldest = failures.min(by: { ($0.value.last ?? 0) < ($1.value.last ?? 0) })?.key
        {
            failures[oldest] = nil
        }
        var times = failures[key, default: []]
        times.removeAll { $0 <= now - windowMs }
        times.append(now)
        // Only the newest failures matter to the decision.
        if times.count > maxFailures { times.removeFirst(times.count - maxFailures) }
        failures[key] = times
    }
}
