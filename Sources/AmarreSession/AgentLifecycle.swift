public import AmarreCore
/// The life of one agent process, as a pure state machine.
///
/// A crash is reported only once both the process has exited and its stdout has reached
/// end-of-file, so every line it wrote is relayed before the crash event. A process that
/// exited while something else still holds its stdout open gets a bounded drain period.
public struct AgentLifecycle: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case running
        /// Stop requested: stdin closed, SIGTERM sent to the group.
        case stopping(killSent: Bool)
        /// Process exited while running; waiting for stdout EOF (bounded).
        case draining(ExitStatus)
        case crashed(ExitStatus)
        case stopped(ExitStatus?)
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Close stdin, SIGTERM the process group, arm the grace timer.
        case terminate
        /// Grace expired: SIGKILL the process group.
        case kill
        /// Arm the drain deadline: stdout may still be held open by a stray process.
        case awaitDrain
        /// Report the crash to clients (after all output), close them with 1011.
        case reportCrash(ExitStatus)
        /// The stopped process is gone: release everything.
        case finishStop(ExitStatus?)
    }

    public private(set) var state: State = .running
    public private(set) var stdoutOpen = true
    private var exit: ExitStatus?

    public init() {}

    public var isRunning: Bool {
        switch state {
        case .running, .draining: true
        default: false
        }
    }

    public mutating func processExited(_ status: ExitStatus) -> Action {
        exit = status
        switch state {
        case .running:
            if stdoutOpen {
                state = .draining(status)
                return .awaitDrain
            }
            state = .crashed(status)
            return .reportCrash(status)
        case .stopping:
            state = .stopped(status)
            return .finishStop(status)
        case .draining, .crashed, .stopped:
            return .none
        }
    }

    public mutating func stdoutClosed() -> Action {
        stdoutOpen = false
        if case .draining(let status) = state {
            state = .crashed(status)
            return .reportCrash(status)
        }
        return .none
    }

    public mutating func drainDeadlinePassed() -> Action {
        guard case .draining(let status) = state else { return .none }
        state = .crashed(status)
        return .reportCrash(status)
    }

    public mutating func stopRequested() -> Action {
        switch state {
        case .running:
            state = .stopping(killSent: false)
            return .terminate
        case .draining(let status), .crashed(let status):
            state = .stopped(status)
            return .finishStop(status)
        case .stopping, .stopped:
            return .none
        }
    }

    public mutating func graceExpired() -> Action {
        guard case .stopping(killSent: false) = state else { return .none }
        state = .stopping(killSent: true)
        return .kill
    }
}
