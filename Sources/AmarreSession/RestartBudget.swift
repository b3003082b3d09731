public import AmarreCore
/// Decides whether a crashed session is restarted automatically, and after how long.
///
/// Pure: the caller passes the clock. At most `policy.max` restarts within any window of
/// `policy.windowSeconds`; the delay doubles from `baseDelayMs` per attempt in the window,
/// capped at `maxDelayMs`.
public struct RestartBudget: Sendable, Equatable {
    public enum Decision: Equatable, Sendable {
        case none
        case restart(attempt: Int, delayMs: Int)
        case giveUp(attempts: Int)
    }

    public static let maxDelayMs = 30_000
    public let policy: RestartPolicy
    public let baseDelayMs: Int
    private var attempts: [Int64] = []

    public init(policy: RestartPolicy, baseDelayMs: Int) {
        self.policy = policy
        self.baseDelayMs = baseDelayMs
    }

    public mutating func crashed(_ exit: ExitStatus, nowMs: Int64) -> Decision {
        switch policy.policy {
        case .never: return .none
        case .onFailure where exit.exitCode == 0: return .none
        default: break
        }
        attempts.removeAll { nowMs - $0 >= Int64(policy.windowSeconds) * 1000 }
        guard attempts.count < policy.max else { return .giveUp(attempts: attempts.count) }
        attempts.append(nowMs)
        let n = attempts.count
        let delay = min(RestartBudget.maxDelayMs, baseDelayMs << min(n - 1, 20))
        return .restart(attempt: n, delayMs: delay)
    }
}
