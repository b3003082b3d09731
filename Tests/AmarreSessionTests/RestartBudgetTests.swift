import AmarreCore
import AmarreSession
import Testing

private func budget(_ policy: RestartPolicy.Policy, max: Int = 3, window: Int = 60, base: Int = 1000) -> RestartBudget {
    RestartBudget(policy: RestartPolicy(policy: policy, max: max, windowSeconds: window), baseDelayMs: base)
}

@Suite("RestartBudget")
struct RestartBudgetTests {
    @Test("policy never never restarts")
    func never() {
        var b = budget(.never)
        #expect(b.crashed(.exited(1), nowMs: 0) == .none)
        #expect(b.crashed(.signaled(9), nowMs: 0) == .none)
    }

    @Test("on-failure restarts after a failure or a signal, not after a clean exit")
    func onFailure() {
        var b = budget(.onFailure)
        #expect(b.crashed(.exited(0), nowMs: 0) == .none)
        #expect(b.crashed(.exited(3), nowMs: 0) == .restart(attempt: 1, delayMs: 1000))
        var s = budget(.onFailure)
        #expect(s.crashed(.signaled(9), nowMs: 0) == .restart(attempt: 1, delayMs: 1000))
    }

    @Test("always restarts even after a clean exit")
    func always() {
        var b = budget(.always)
        #expect(b.crashed(.exited(0), nowMs: 0) == .restart(attempt: 1, delayMs: 1000))
    }

    @Test("the delay doubles per attempt, then the budget gives up within the window")
    func backoffThenGiveUp() {
        var b = budget(.always, max: 3, window: 60)
        #expect(b.crashed(.exited(1), nowMs: 0) == .restart(attempt: 1, delayMs: 1000))
        #expect(b.crashed(.exited(1), nowMs: 2000) == .restart(attempt: 2, delayMs: 2000))
        #expect(b.crashed(.exited(1), nowMs: 5000) == .restart(attempt: 3, delayMs: 4000))
        #expect(b.crashed(.exited(1), nowMs: 10_000) == .giveUp(attempts: 3))
        #expect(b.crashed(.exited(1), nowMs: 59_999) == .giveUp(attempts: 3))
    }

    @Test("attempts older than the window are forgotten")
    func windowSlides() {
        var b = budget(.always, max: 2, window: 10)
        #expect(b.crashed(.exited(1), nowMs: 0) == .restart(attempt: 1, delayMs: 1000))
        #expect(b.crashed(.exited(1), nowMs: 5000) == .restart(attempt: 2, delayMs: 2000))
        #expect(b.crashed(.exited(1), nowMs: 9999) == .giveUp(attempts: 2))
        // Exactly one window after the first attempt, it no longer counts.
        #expect(b.crashed(.exited(1), nowMs: 10_000) == .restart(attempt: 2, delayMs: 2000))
        #expect(b.crashed(.exited(1), nowMs: 40_000) == .restart(attempt: 1, delayMs: 1000))
    }

    @Test("the delay is capped")
    func cap() {
        var b = budget(.always, max: 100, window: 3600, base: 20_000)
        #expect(b.crashed(.exited(1), nowMs: 0) == .restart(attempt: 1, delayMs: 20_000))
        #expect(b.crashed(.exited(1), nowMs: 1) == .restart(attempt: 2, delayMs: RestartBudget.maxDelayMs))
        var many = budget(.always, max: 100, window: 3600, base: 1000)
        var last = RestartBudget.Decision.none
        for i in 0..<70 { last = many.crashed(.exited(1), nowMs: Int64(i)) }
        #expect(last == .restart(attempt: 70, delayMs: RestartBudget.maxDelayMs))
    }

    @Test("a budget of zero gives up at once")
    func zeroMax() {
        var b = budget(.always, max: 0)
        #expect(b.crashed(.exited(1), nowMs: 0) == .giveUp(attempts: 0))
    }
}
