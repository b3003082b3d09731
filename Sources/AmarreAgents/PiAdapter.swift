import AmarreCore
import AmarreJSON

/// pi speaks the clients' protocol already, so lines pass through both ways; this adapter
/// learns pi's session file (`resumeToken`, for `pi --session <file>` after a restart) from
/// `get_state` answers, and keeps the session's tool grants ("allow for this session").
///
/// It asks once at start with a `get_state` of its own (its answer is not shown to clients),
/// and again after a command that changes the session (`new_session`, `switch_session`, `fork`).
///
/// Grants: the permission gate's questions (a `select` with "Allow once", "Allow <tool> for
/// this session", "Deny", or with `AMARRE_GATE_PROMPT=confirm` a `confirm` titled
/// "Run <tool>?") reach clients with `"toolName"` added. An answer `{"confirmed":true,
/// "scope":"session"}` (or the select's "for this session" option) allows the tool for the
/// session here, in the adapter, so that it can be revoked (`revoke_tool_permission`): the gate
/// is told "Allow once", and later questions about the tool are answered "Allow once" without
/// asking anyone. `{"confirmed":true|false}` on a select means "Allow once" / "Deny".
/// `get_state` answers gain `allowedTools`; `set_permission_mode` is refused (pi has none).
public struct PiAdapter: AgentAdapter {
    /// Records longer than this are not parsed (a `get_state` answer is a few hundred bytes;
    /// `get_messages` answers can be megabytes).
    static let maxParsedResponseBytes = 64 << 10
    static let sessionChangingCommands: Set<String> = ["new_session", "switch_session", "fork"]
    /// The gate's options (Resources/amarre-permission-gate.ts).
    static let allowOnce = "Allow once"
    static let deny = "Deny"
    /// Gate questions remembered while open (an agent asks one at a time).
    static let maxOpenQuestions = 1024

    /// The id of the adapter's own `get_state` requests.
    let stateRequestID: String
    public private(set) var resumeToken: String?
    var grants: SessionGrants
    /// Open gate questions: request id → (tool, method).
    var questions: [String: (tool: String, method: String)] = [:]

    /// - Parameters:
    ///   - idPrefix: unique per agent process, so the adapter's request id never collides
    ///     with a client's.
    ///   - carry: what the previous process of the session handed on (its grants).
    ///   - gateAsksConfirm: the gate runs in confirm mode (`AMARRE_GATE_PROMPT=confirm`): only
    ///     then is a `confirm` titled "Run <tool>?" taken for one of its questions.
    public init(idPrefix: String, carry: AdapterCarry = AdapterCarry(), gateAsksConfirm: Bool = false) {
        stateRequestID = "\(idPrefix)-state"
        grants = SessionGrants(carry.allowedTools)
        self.gateAsksConfirm = gateAsksConfirm
    }

    /// The gate asks with `confirm` (else with its `select`).
    let gateAsksConfirm: Bool

    public var carry: AdapterCarry { AdapterCarry(allowedTools: grants.tools) }

    public mutating func started() -> AdapterOutput {
        AdapterOutput(toAgent: [stateRequest])
    }

    public mutating func fromClient(_ line: [UInt8]) -> AdapterOutput {
        guard let type = JSONScanner.scan(line)?.type, Self.clientTypesOfInterest.contains(type),
            let command = JSONValue.parse(line)
        else {
            return AdapterOutput(toAgent: [line])
        }
        let id = command["id"]
        switch type {
        case "extension_ui_response":
            return answer(command, line: line)
        case "revoke_tool_permission":
            guard let tool = command["toolName"]?.stringValue else {
                return AdapterOutput(toClients: [PiRecord.failure(
                    id: id, command: type, "revoke_tool_permission needs a \"toolName\" string").jsonBytes])
            }
            guard grants.revoke(tool) else {
                return AdapterOutput(toClients: [PiRecord.failure(
                    id: id, command: type, "\(tool) is not allowed for this session").jsonBytes])
            }
            return AdapterOutput(toClients: [PiRecord.response(id: id, command: type).jsonBytes, grants.record.jsonBytes])
        default:  // set_permission_mode
            return AdapterOutput(toClients: [PiRecord.failure(
                id: id, command: type, "pi has no permission modes; its gate asks before every tool").jsonBytes])
        }
    }

    static let clientTypesOfInterest: Set<String> = ["extension_ui_response", "revoke_tool_permission", "set_permission_mode"]

    public mutating func fromAgent(_ line: [UInt8]) -> AdapterOutput {
        guard line.count <= Self.maxParsedResponseBytes, let summary = JSONScanner.scan(line),
            summary.type == "response" || summary.type == "extension_ui_request", let record = JSONValue.parse(line)
        else {
            return AdapterOutput(toClients: [line])
        }
        if summary.type == "extension_ui_request" {
            return question(record, line: line)
        }
        let command = record["command"]?.stringValue
        let succeeded = record["success"]?.boolValue == true
        if command == "get_state", succeeded,
            let file = record["data"]?["sessionFile"]?.stringValue, !file.isEmpty
        {
            resumeToken = file
        }
        if summary.id == stateRequestID {
            return AdapterOutput()
        }
        if command == "get_state", succeeded, let data = record["data"], data.isObject {
            let withGrants = record.setting(
                "data", to: data.setting("allowedTools", to: .array(grants.tools.map(JSONValue.string))))
            return AdapterOutput(toClients: [withGrants.jsonBytes])
        }
        if let command, Self.sessionChangingCommands.contains(command), succeeded {
            return AdapterOutput(toClients: [line], toAgent: [stateRequest])
        }
        return AdapterOutput(toClients: [line])
    }

    /// A gate question: answered here when its tool is allowed for the session, else shown
    /// with `toolName`. Other questions pass through.
    private mutating func question(_ record: JSONValue, line: [UInt8]) -> AdapterOutput {
        guard let id = record["id"]?.stringValue, let method = record["method"]?.stringValue,
            let tool = Self.gateTool(record, method: method), method == (gateAsksConfirm ? "confirm" : "select")
        else {
            return AdapterOutput(toClients: [line])
        }
        if grants.allows(tool) {
            return AdapterOutput(toAgent: [Self.gateAnswer(id: id, method: method, allow: true).jsonBytes])
        }
        if questions.count >= Self.maxOpenQuestions { questions.removeAll() }
        questions[id] = (tool, method)
        return AdapterOutput(toClients: [record.setting("toolName", to: .string(tool)).jsonBytes])
    }

    /// A client's answer to a gate question, as the gate understands it.
    private mutating func answer(_ response: JSONValue, line: [UInt8]) -> AdapterOutput {
        guard let id = response["id"]?.stringValue, let question = questions.removeValue(forKey: id) else {
            return AdapterOutput(toAgent: [line])
        }
        let sessionOption = Self.sessionOption(question.tool)
        let forSession =
            response["cancelled"]?.boolValue != true
            && ((response["confirmed"]?.boolValue == true && response["scope"]?.stringValue == "session")
                || response["value"]?.stringValue == sessionOption)
        if forSession {
            var out = AdapterOutput(toAgent: [Self.gateAnswer(id: id, method: question.method, allow: true).jsonBytes])
            if grants.allow(question.tool) { out.toClients.append(grants.record.jsonBytes) }
            return out
        }
        if question.method == "select", let confirmed = response["confirmed"]?.boolValue,
            response["cancelled"]?.boolValue != true
        {
            return AdapterOutput(toAgent: [Self.gateAnswer(id: id, method: "select", allow: confirmed).jsonBytes])
        }
        return AdapterOutput(toAgent: [line])
    }

    /// The tool a gate question is about, or nil when the question is not the gate's.
    static func gateTool(_ record: JSONValue, method: String) -> String? {
        switch method {
        case "select":
            let options = (record["options"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard options.count == 3, options[0] == allowOnce, options[2] == deny else { return nil }
            let middle = options[1]
            let prefix = "Allow ", suffix = " for this session"
            guard middle.hasPrefix(prefix), middle.hasSuffix(suffix), middle.count > prefix.count + suffix.count else {
                return nil
            }
            return String(middle.dropFirst(prefix.count).dropLast(suffix.count))
        case "confirm":
            guard let title = record["title"]?.stringValue, title.hasPrefix("Run "), title.hasSuffix("?"),
                title.count > 5
            else { return nil }
            let tool = String(title.dropFirst(4).dropLast())
            return tool.contains(where: \.isWhitespace) ? nil : tool
        default:
            return nil
        }
    }

    static func sessionOption(_ tool: String) -> String { "Allow \(tool) for this session" }

    /// What the gate takes as "Allow once" or "Deny".
    static func gateAnswer(id: String, method: String, allow: Bool) -> JSONValue {
        method == "select"
            ? ["type": "extension_ui_response", "id": .string(id), "value": .string(allow ? allowOnce : deny)]
            : ["type": "extension_ui_response", "id": .string(id), "confirmed": .bool(allow)]
    }

    private var stateRequest: [UInt8] {
        JSONValue.object([
            JSONValue.Member(key: "id", value: .string(stateRequestID)),
            JSONValue.Member(key: "type", value: "get_state"),
        ]).jsonBytes
    }
}
