import AmarreAgents
import AmarreJSON
import Dispatch
import Foundation

/// Runs a `DemoAgent` against the real world: a reader thread feeds it stdin lines, a serial
/// queue serialises everything else (commands, timed steps, writes), and the pauses between steps
/// are `asyncAfter` timers scaled by `AMARRE_DEMO_SPEED`.
final class DemoDriver: @unchecked Sendable {
    // @unchecked Sendable: `agent` and `armed` are read and written only on `queue`, a serial
    // queue; the entry points other threads call (`start`, `handle`) only enqueue work on it.
    private let queue = DispatchQueue(label: "amarre-demo-agent")
    private var agent: DemoAgent
    /// The timer waiting to take the step with this serial number.
    private var armed: (serial: Int, work: DispatchWorkItem)?
    private let configuration: DemoConfiguration
    private let streams = StandardStreams()

    /// Steps due at once that are taken in one go before other queued work gets a turn.
    static let immediateStepBudget = 16

    init(configuration: DemoConfiguration) {
        self.configuration = configuration
        self.agent = DemoAgent(sessionID: configuration.sessionID)
    }

    /// Reports configuration warnings and starts reading stdin. Returns at once.
    func start() {
        queue.async { [self] in
            for warning in configuration.warnings { streams.writeError("amarre-demo-agent: \(warning)") }
        }
        let reader = LineReader(maxLineBytes: configuration.maxLineBytes)
        let thread = Thread { [self] in reader.run { self.handle($0) } }
        thread.name = "amarre-demo-agent stdin"
        thread.start()
    }

    /// Called on the reader thread.
    private func handle(_ event: LineReader.Event) {
        queue.async { [self] in
            switch event {
            case .line(let bytes):
                perform(agent.receive(bytes, now: Self.now()))
                reschedule()
            case .tooLong:
                let error = "Failed to parse command: line longer than \(configuration.maxLineBytes) bytes"
                perform([.emit(PiRecord.failure(id: nil, command: "parse", error))])
            case .end:
                // Whatever was streaming is cut short, as when pi's stdin closes.
                exit(0)
            }
        }
    }

    private func perform(_ effects: [DemoEffect]) {
        for effect in effects {
            switch effect {
            case .emit(let record): streams.writeLine(record.jsonBytes)
            case .stderr(let line): streams.writeError(line)
            case .exit(let status): exit(status)
            }
        }
    }

    /// Arms a timer for the step now at the head of the schedule, unless one is armed for it already.
    private func reschedule() {
        guard let next = agent.nextStep else {
            armed?.work.cancel()
            armed = nil
            return
        }
        guard armed?.serial != next.serial else { return }
        armed?.work.cancel()
        let serial = next.serial
        let work = DispatchWorkItem { [self] in fire(serial) }
        armed = (serial, work)
        queue.asyncAfter(deadline: .now() + scaled(next.delay), execute: work)
    }

    private func fire(_ serial: Int) {
        guard armed?.serial == serial, agent.nextStep?.serial == serial else { return }
        armed = nil
        perform(agent.advance(now: Self.now()))
        var budget = Self.immediateStepBudget
        while budget > 0, let next = agent.nextStep, next.delay == .zero {
            perform(agent.advance(now: Self.now()))
            budget -= 1
        }
        reschedule()
    }

    private func scaled(_ delay: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = delay.components
        let nanoseconds = (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / configuration.speed
        return .nanoseconds(Int(nanoseconds.rounded()))
    }

    /// Milliseconds since the epoch, pi's message timestamps.
    private static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
