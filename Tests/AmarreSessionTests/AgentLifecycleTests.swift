import AmarreCore
import AmarreSession
import Testing

private let exit3 = ExitStatus.exited(3)
private let killed = ExitStatus.signaled(9)

@Suite("AgentLifecycle")
struct AgentLifecycleTests {
    @Test("a new lifecycle is running with stdout open")
    func initialState() {
        let life = AgentLifecycle()
        #expect(life.state == .running)
        #expect(life.isRunning)
        #expect(life.stdoutOpen)
    }

    @Test("exit then stdout EOF: drain, then report the crash")
    func exitThenEOF() {
        var life = AgentLifecycle()
        #expect(life.processExited(exit3) == .awaitDrain)
        #expect(life.state == .draining(exit3))
        #expect(life.isRunning)
        #expect(life.stdoutClosed() == .reportCrash(exit3))
        #expect(life.state == .crashed(exit3))
        #expect(!life.isRunning)
        #expect(!life.stdoutOpen)
    }

    @Test("stdout EOF then exit: report the crash at once")
    func eofThenExit() {
        var life = AgentLifecycle()
        #expect(life.stdoutClosed() == .none)
        #expect(life.state == .running)
        #expect(!life.stdoutOpen)
        #expect(life.processExited(killed) == .reportCrash(killed))
        #expect(life.state == .crashed(killed))
    }

    @Test("a drain deadline reports the crash while stdout is still held open")
    func drainDeadline() {
        var life = AgentLifecycle()
        _ = life.processExited(exit3)
        #expect(life.drainDeadlinePassed() == .reportCrash(exit3))
        #expect(life.state == .crashed(exit3))
        // The late EOF and a second deadline change nothing.
        #expect(life.stdoutClosed() == .none)
        #expect(life.drainDeadlinePassed() == .none)
        #expect(life.state == .crashed(exit3))
    }

    @Test("a drain deadline outside draining does nothing")
    func drainDeadlineWhileRunning() {
        var life = AgentLifecycle()
        #expect(life.drainDeadlinePassed() == .none)
        #expect(life.state == .running)
        _ = life.stopRequested()
        #expect(life.drainDeadlinePassed() == .none)
        #expect(life.state == .stopping(killSent: false))
    }

    @Test("stop while running: terminate, grace, kill, then finish when the process exits")
    func stopWithKill() {
        var life = AgentLifecycle()
        #expect(life.stopRequested() == .terminate)
        #expect(life.state == .stopping(killSent: false))
        #expect(!life.isRunning)
        #expect(life.graceExpired() == .kill)
        #expect(life.state == .stopping(killSent: true))
        #expect(life.graceExpired() == .none)
        #expect(life.processExited(killed) == .finishStop(killed))
        #expect(life.state == .stopped(killed))
    }

    @Test("stop while running: the process exits within the grace period")
    func stopWithinGrace() {
        let term = ExitStatus.signaled(15)
        var life = AgentLifecycle()
        #expect(life.stopRequested() == .terminate)
        #expect(life.stdoutClosed() == .none)
        #expect(life.processExited(term) == .finishStop(term))
        #expect(life.state == .stopped(term))
        #expect(life.graceExpired() == .none)
        #expect(life.state == .stopped(term))
    }

    @Test("a stopping process that exits never reports a crash")
    func stopIsNotCrash() {
        var life = AgentLifecycle()
        _ = life.stopRequested()
        #expect(life.processExited(exit3) == .finishStop(exit3))
        #expect(life.stdoutClosed() == .none)
        #expect(life.drainDeadlinePassed() == .none)
        #expect(life.state == .stopped(exit3))
    }

    @Test("stop after a crash finishes at once with the crash status")
    func stopAfterCrash() {
        var life = AgentLifecycle()
        _ = life.stdoutClosed()
        _ = life.processExited(exit3)
        #expect(life.stopRequested() == .finishStop(exit3))
        #expect(life.state == .stopped(exit3))
    }

    @Test("stop while draining finishes at once")
    func stopWhileDraining() {
        var life = AgentLifecycle()
        _ = life.processExited(exit3)
        #expect(life.stopRequested() == .finishStop(exit3))
        #expect(life.state == .stopped(exit3))
        #expect(life.stdoutClosed() == .none)
        #expect(life.drainDeadlinePassed() == .none)
    }

    @Test("a second stop does nothing")
    func doubleStop() {
        var life = AgentLifecycle()
        #expect(life.stopRequested() == .terminate)
        #expect(life.stopRequested() == .none)
        _ = life.processExited(exit3)
        #expect(life.stopRequested() == .none)
        #expect(life.state == .stopped(exit3))
    }

    @Test("grace expiry while running does nothing")
    func graceWhileRunning() {
        var life = AgentLifecycle()
        #expect(life.graceExpired() == .none)
        #expect(life.state == .running)
    }

    @Test("a second exit report is ignored", arguments: [false, true])
    func exitAfterCrash(eofFirst: Bool) {
        var life = AgentLifecycle()
        if eofFirst { _ = life.stdoutClosed() }
        _ = life.processExited(exit3)
        #expect(life.processExited(killed) == .none)
        #expect(life.state == (eofFirst ? .crashed(exit3) : .draining(exit3)))
    }
}
