import AmarreAgents
import AmarreJSON

/// What the I/O loop must do on behalf of the state machine, in order.
enum DemoEffect: Sendable {
    /// Write one record as a line on stdout.
    case emit(JSONValue)
    /// Write one line on stderr.
    case stderr(String)
    /// Exit the process with this status (after the effects before it).
    case exit(Int32)
}
