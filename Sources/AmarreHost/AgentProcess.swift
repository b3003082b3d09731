import AmarreAgents
import AmarreCore
import AmarreSession
import CAmarreSpawn
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Receives what happens to an agent process. Called on the session's event loop.
protocol AgentProcessDelegate: AnyObject {
    func agentWrote(_ output: LineSplitter.Output)
    /// Bytes a program under a pseudo-terminal wrote (no lines: a terminal's output).
    func agentWroteTerminal(_ bytes: ByteBuffer)
    /// A batch of reads ended: flush what was written to clients.
    func agentReadComplete()
    func agentStdoutClosed()
    func agentExited(_ status: ExitStatus)
    func agentStdinWritabilityChanged(_ writable: Bool)
}

/// One running agent child: its stdio as NIO pipe channels, and its exit, watched on a pidfd.
///
/// The child is its own process-group leader (its pid is the group id), so signals reach
/// everything it started; it gets SIGKILL if the host dies (PR_SET_PDEATHSIG).
/// Confined to `eventLoop`.
final class AgentProcess {
    let pid: pid_t
    let eventLoop: any EventLoop
    private let logger: Logger
    private var stdin: (any Channel)?
    private var stdout: (any Channel)?
    private var stderr: (any Channel)?
    private var exitSource: (any DispatchSourceRead)?
    /// The pseudo-terminal's master, for its size (a `terminal` agent only; -1 otherwise).
    private var terminalControl: Int32 = -1
    /// Runs under a pseudo-terminal, leading a session of its own.
    private(set) var isTerminal = false
    private(set) var exited = false
    weak var delegate: (any AgentProcessDelegate)?

    private init(pid: pid_t, eventLoop: any EventLoop, logger: Logger) {
        self.pid = pid
        self.eventLoop = eventLoop
        self.logger = logger
    }


    /// Forks and execs the plan (under a pseudo-terminal when `plan.terminal`). Must run on
    /// `eventLoop`, whose thread outlives the child (the parent-death signal is tied to the
    /// spawning thread).
    static func spawn(
        _ plan: SpawnPlan,
        on eventLoop: any EventLoop,
        configuration: AmarreConfiguration,
        terminalSize: ServerRecord.TerminalSize = .init(cols: 80, rows: 24),
        delegate: any AgentProcessDelegate,
        logger: Logger
    ) throws(AmarreError) -> AgentProcess {
        eventLoop.assertInEventLoop()
        var child = amarre_child()
        var step: UnsafePointer<CChar>?
        var control: Int32 = -1
        let size = terminalSize
        let err = withCStrings(plan.arguments) { argv in
            withCStrings(plan.environmentStrings) { envp in
                func spawn(_ cwd: UnsafePointer<CChar>?) -> Int32 {
                    plan.terminal
                        ? amarre_spawn_pty(
                            plan.executable, argv, envp, cwd, UInt16(size.cols), UInt16(size.rows), &child, &control, &step)
                        : amarre_spawn(plan.executable, argv, envp, cwd, &child, &step)
                }
                if let cwd = plan.cwd { return cwd.withCString { spawn($0) } }
                return spawn(nil)
            }
        }
        if err != 0 {
            let what = step.map { String(cString: $0) } ?? "spawn"
            let reason = String(cString: strerror(err))
            if what == "chdir" {
                throw .badRequest("cwd \(plan.cwd ?? ""): \(reason)")
            }
            throw AmarreError(.spawnFailed, detail: "\(what) \(plan.executable): \(reason)")
        }
        var agentLogger = logger
        agentLogger[metadataKey: "child.pid"] = "\(child.pid)"
        let process = AgentProcess(pid: child.pid, eventLoop: eventLoop, logger: agentLogger)
        process.terminalControl = control
        process.isTerminal = plan.terminal
        process.delegate = delegate
        process.watchExit(pidfd: child.pidfd)
        process.attachPipes(child, configuration: configuration)
        return process
    }

    private func attachPipes(_ child: amarre_child, configuration: AmarreConfiguration) {
        let loop = eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let limit = configuration.maxRecordBytes
        let terminal = terminalControl >= 0
        let stdoutFuture = NIOPipeBootstrap(group: loop)
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if terminal {
                        try channel.pipeline.syncOperations.addHandler(AgentTerminalHandler(process: bound))
                    } else {
                        try channel.pipeline.syncOperations.addHandler(
                            AgentStdoutHandler(process: bound, maxRecordBytes: limit))
                    }
                }
            }
            .takingOwnershipOfDescriptor(input: child.stdout_fd)
        let stderrLogger = logger
        // Under a pseudo-terminal stderr is the terminal too.
        let stderrFuture: EventLoopFuture<any Channel> =
            child.stderr_fd < 0
            ? loop.makeFailedFuture(ChannelError.inputClosed)
            : NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AgentStderrHandler(logger: stderrLogger, maxLineBytes: configuration.stderrLineBytes))
                }
            }
            .takingOwnershipOfDescriptor(input: child.stderr_fd)
        let high = configuration.stdinBufferBytes
        let stdinFuture = NIOPipeBootstrap(group: loop)
            .channelOption(.writeBufferWaterMark, value: .init(low: max(1, high / 2), high: high))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AgentStdinHandler(process: bound))
                }
            }
            .takingOwnershipOfDescriptor(output: child.stdin_fd)

        stdoutFuture.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel): self.stdout = channel
            case .failure(let error):
                self.logger.error("agent stdout could not be attached", metadata: ["error": "\(error)"])
                close(child.stdout_fd)
                self.delegate?.agentStdoutClosed()
            }
        }
        stderrFuture.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel): self.stderr = channel
            case .failure:
                if child.stderr_fd >= 0 { close(child.stderr_fd) }
            }
        }
        stdinFuture.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                if self.exited || self.stdinClosed {
                    channel.close(promise: nil)
                } else {
                    self.stdin = channel
                    for pending in self.stdinBacklog { channel.write(pending, promise: nil) }
                    self.stdinBacklog.removeAll()
                    channel.flush()
                }
            case .failure:
                close(child.stdin_fd)
            }
        }
    }

    /// Lines written before the stdin channel registered.
    private var stdinBacklog: [ByteBuffer] = []
    private var stdinClosed = false

    /// Writes one line (the caller includes the `\n`). Flushed by `flushStdin`.
    func writeStdin(_ line: ByteBuffer) {
        guard !stdinClosed else { return }
        if let stdin {
            stdin.write(line, promise: nil)
        } else {
            stdinBacklog.append(line)
        }
    }

    func flushStdin() { stdin?.flush() }

    var stdinWritable: Bool { stdin?.isWritable ?? true }

    func closeStdin() {
        stdinClosed = true
        stdinBacklog.removeAll()
        stdin?.close(promise: nil)
    }

    /// Sends `signal` to the agent's whole process group; for a `terminal` agent, to every
    /// process of its session too (a shell puts each job in a process group of its own).
    func signalGroup(_ signal: Int32) {
        guard !exited else { return }
        if kill(-pid, signal) != 0 {
            logger.debug("signal to agent group failed", metadata: ["signal": "\(signal)", "errno": "\(errno)"])
        }
        if isTerminal {
            // Closing a terminal hangs it up: an interactive shell ignores SIGTERM, not SIGHUP.
            let signals = signal == SIGTERM ? [SIGHUP, SIGTERM] : [signal]
            if signal == SIGTERM { kill(-pid, SIGHUP) }
            AgentProcess.signalSession(pid, signals)
        }
    }

    /// Signals every process whose session is `sid` (read from /proc/<pid>/stat, one pass).
    static func signalSession(_ sid: pid_t, _ signals: [Int32]) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for entry in entries {
            guard let pid = pid_t(entry), pid != sid, let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm)": state ppid pgrp session …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 3, pid_t(fields[3]) == sid { for signal in signals { kill(pid, signal) } }
        }
    }

    /// Stops or resumes reading the agent's stdout (the store's backlog is full): the pipe fills
    /// and the agent blocks on its writes, as with any slow reader.
    func setReadingOutput(_ enabled: Bool) {
        guard let stdout else { return }
        stdout.setOption(ChannelOptions.autoRead, value: enabled).whenFailure { _ in }
        if enabled { stdout.read() }
    }

    /// Closes the output channels: nothing more will be read.
    func closeOutputs() {
        stdout?.close(promise: nil)
        stderr?.close(promise: nil)
        closeTerminalControl()
    }

    /// Sets the size of the agent's terminal (a `terminal` agent): the kernel tells its
    /// foreground process group (SIGWINCH).
    func setTerminalSize(cols: Int, rows: Int) {
        guard terminalControl >= 0, !exited else { return }
        let err = amarre_set_window_size(terminalControl, UInt16(clamping: cols), UInt16(clamping: rows))
        if err != 0 { logger.debug("terminal resize failed", metadata: ["errno": "\(err)"]) }
    }

    private func closeTerminalControl() {
        guard terminalControl >= 0 else { return }
        close(terminalControl)
        terminalControl = -1
    }

    // MARK: exit

    private func watchExit(pidfd: Int32) {
        let pid = self.pid
        let loop = eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let onExit: @Sendable (Int32) -> Void = { status in
            loop.execute { bound.value.reaped(status: status) }
        }
        guard pidfd >= 0 else {
            // No pidfd (old kernel): a thread that blocks in waitpid for this child only.
            let thread = Thread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                onExit(status)
            }
            thread.start()
            return
        }
        let terminal = isTerminal
        let source = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: AgentProcess.exitQueue)
        source.setEventHandler {
            // The child is a zombie now: its pid and process-group id cannot be reused yet,
            // so this SIGKILL reaches only processes it left behind in its group (and, under a
            // terminal, in its session).
            kill(-pid, SIGKILL)
            if terminal { AgentProcess.signalSession(pid, [SIGKILL]) }
            var status: Int32 = 0
            guard amarre_try_reap(pid, &status) == 1 else { return }
            source.cancel()
            onExit(status)
        }
        source.setCancelHandler { close(pidfd) }
        exitSource = source
        source.resume()
    }

    private static let exitQueue = DispatchQueue(label: "amarre.agent-exit")

    private func reaped(status: Int32) {
        exited = true
        exitSource = nil
        closeStdin()
        let exit: ExitStatus =
            amarre_signaled(status) != 0
            ? .signaled(amarre_term_signal(status)) : .exited(amarre_exit_status(status))
        logger.debug("agent exited", metadata: ["exit": "\(exit)"])
        delegate?.agentExited(exit)
    }

    // MARK: called by the pipe handlers

    fileprivate func stdoutOutput(_ output: LineSplitter.Output) { delegate?.agentWrote(output) }
    fileprivate func terminalOutput(_ bytes: ByteBuffer) { delegate?.agentWroteTerminal(bytes) }
    fileprivate func stdoutReadComplete() { delegate?.agentReadComplete() }
    fileprivate func stdoutClosed() {
        stdout = nil
        delegate?.agentStdoutClosed()
    }
    fileprivate func stdinWritabilityChanged(_ writable: Bool) {
        delegate?.agentStdinWritabilityChanged(writable)
    }
}

/// Runs `body` with a NULL-terminated C array of C strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }  // an array of >= 1 element has a base
}

/// Reads the agent's stdout and turns it into records.
private final class AgentStdoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let process: NIOLoopBound<AgentProcess>
    private var splitter: LineSplitter

    init(process: NIOLoopBound<AgentProcess>, maxRecordBytes: Int) {
        self.process = process
        self.splitter = LineSplitter(maxRecordBytes: maxRecordBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let p = process.value
        splitter.feed(&buffer) { p.stdoutOutput($0) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        process.value.stdoutReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let p = process.value
        splitter.finish { p.stdoutOutput($0) }
        p.stdoutReadComplete()
        p.stdoutClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Reads what a program under a pseudo-terminal writes: bytes, passed on as they come.
private final class AgentTerminalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let process: NIOLoopBound<AgentProcess>

    init(process: NIOLoopBound<AgentProcess>) { self.process = process }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        process.value.terminalOutput(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        process.value.stdoutReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let p = process.value
        p.stdoutReadComplete()
        p.stdoutClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // EIO once the program and everything holding the terminal have gone: the end.
        context.close(promise: nil)
    }
}

/// Notices when the agent's stdin stops or resumes accepting writes.
private final class AgentStdinHandler: ChannelDuplexHandler {
    typealias InboundIn = Never
    typealias OutboundIn = ByteBuffer
    private let process: NIOLoopBound<AgentProcess>

    init(process: NIOLoopBound<AgentProcess>) { self.process = process }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        process.value.stdinWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // EPIPE when the agent closed its stdin or exited: nothing more can be written.
        context.close(promise: nil)
    }
}

/// Logs the agent's stderr line by line, each line cut to a bounded length (the log handler
/// escapes its control characters).
private final class AgentStderrHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let logger: Logger
    private var cutter: StderrLineCutter

    init(logger: Logger, maxLineBytes: Int) {
        self.logger = logger
        self.cutter = StderrLineCutter(maxLineBytes: maxLineBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        cutter.feed(buffer.readableBytesView, emit: log)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cutter.finish(emit: log)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func log(_ line: StderrLineCutter.Line) {
        if line.cutBytes > 0 {
            logger.notice("agent stderr", metadata: ["line": "\(line.text)", "line.cut_bytes": "\(line.cutBytes)"])
        } else {
            logger.notice("agent stderr", metadata: ["line": "\(line.text)"])
        }
    }
}
