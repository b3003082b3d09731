public import AmarreCore
/// How an agent process ended: an exit code, or the name of the signal that killed it.
public struct ExitStatus: Sendable, Equatable, Codable, CustomStringConvertible {
    public var exitCode: Int32?
    public var signal: String?

    public init(exitCode: Int32? = nil, signal: String? = nil) {
        self.exitCode = exitCode
        self.signal = signal
    }

    public static func exited(_ code: Int32) -> ExitStatus { ExitStatus(exitCode: code) }
    public static func signaled(_ number: Int32) -> ExitStatus { ExitStatus(signal: signalName(number)) }

    public var description: String {
        if let signal { return "killed by \(signal)" }
        return "exited with \(exitCode.map(String.init) ?? "?")"
    }

    /// Linux signal names, as the protocol reports them (`"SIGKILL"`).
    public static func signalName(_ number: Int32) -> String {
        let names: [Int32: String] = [
            1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
            8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
            14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
            20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
            26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
        ]
        return names[number] ?? "SIG\(number)"
    }
}
