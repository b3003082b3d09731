import AmarreCore

/// pi speaks the clients' protocol already, so every line passes through untouched both ways;
/// this adapter only learns pi's session file (`resumeToken`, for `pi --session <file>` after a
/// restart) from `get_state` answers.
///
/// It asks once at start with a `get_state` of its own (its answer is not shown to clients),
/// and again after a command that changes the session (`new_session`, `switch_session`, `fork`).
public struct PiAdapter: AgentAdapter {
    /// Responses longer than this are not parsed (a `get_state` answer is a few hundred bytes;
    /// `get_messages` answers can be megabytes).
    static let maxParsedResponseBytes = 64 << 10
    static let sessionChangingCommands: Set<String> = ["new_session", "switch_session", "fork"]

    /// The id of the adapter's own `get_state` requests.
    let stateRequestID: String
    public private(set) var resumeToken: String?

    /// - Parameter idPrefix: unique per agent process, so the adapter's request id never
    ///   collides with a client's.
    public init(idPrefix: String) {
        stateRequestID = "\(idPrefix)-state"
    }

    public mutating func started() -> AdapterOutput {
        AdapterOutput(toAgent: [stateRequest])
    }

    public mutating func fromClient(_ line: [UInt8]) -> AdapterOutput {
        AdapterOutput(toAgent: [line])
    }

    public mutating func fromAgent(_ line: [UInt8]) -> AdapterOutput {
        guard line.count <= Self.maxParsedResponseBytes, let summary = JSONScanner.scan(line),
            summary.type == "response", let response = JSONValue.parse(line)
        else {
            return AdapterOutput(toClients: [line])
        }
        let command = response["command"]?.stringValue
        if command == "get_state", response["success"]?.boolValue == true,
            let file = response["data"]?["sessionFile"]?.stringValue, !file.isEmpty
        {
            resumeToken = file
        }
        if summary.id == stateRequestID {
            return AdapterOutput()
        }
        if let command, Self.sessionChangingCommands.contains(command), response["success"]?.boolValue == true {
            return AdapterOutput(toClients: [line], toAgent: [stateRequest])
        }
        return AdapterOutput(toClients: [line])
    }

    private var stateRequest: [UInt8] {
        JSONValue.object([
            JSONValue.Member(key: "id", value: .string(stateRequestID)),
            JSONValue.Member(key: "type", value: "get_state"),
        ]).jsonBytes
    }
}
