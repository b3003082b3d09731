import AmarreJSON
/// What one agent process of a session hands to the next (a restart, automatic or asked for,
/// or the host's own restart): the tools a person allowed "for this session", and how many
/// messages the conversation already has (pi's `get_state` `messageCount`).
public struct AdapterCarry: Sendable, Equatable {
    public var allowedTools: [String]
    public var messageCount: Int

    public init(allowedTools: [String] = [], messageCount: Int = 0) {
        self.allowedTools = allowedTools
        self.messageCount = messageCount
    }

    /// `{"allowedTools":[…],"messageCount":N}`: how the host stores it with the session.
    public var jsonText: String {
        JSONValue.object([
            .init(key: "allowedTools", value: .array(allowedTools.map(JSONValue.string))),
            .init(key: "messageCount", value: .int(messageCount)),
        ]).jsonText
    }

    /// Reads `jsonText`; anything unreadable is an empty carry.
    public init(jsonText: String?) {
        guard let jsonText, let value = JSONValue.parse(Array(jsonText.utf8)) else {
            self.init()
            return
        }
        self.init(
            allowedTools: SessionGrants.names(value["allowedTools"]),
            messageCount: max(0, value["messageCount"]?.intValue ?? 0))
    }
}

/// Tools allowed for the rest of a session ("Allow <tool> for this session"): later calls of
/// such a tool are answered by the adapter without asking anyone, until the grant is revoked
/// (`{"type":"revoke_tool_permission","toolName":…}`). Each change is published to clients as
/// `{"type":"session_permissions","allowedTools":[…]}` (stored, so the latest one in the log is
/// the current list).
struct SessionGrants: Sendable, Equatable {
    /// Most tools remembered (a session has a few dozen tools at most).
    static let maxTools = 256
    /// Longest tool name taken.
    static let maxNameBytes = 256

    private(set) var tools: [String]

    init(_ tools: [String] = []) {
        self.tools = Array(tools.filter(Self.isValidName).prefix(Self.maxTools))
    }

    func allows(_ tool: String) -> Bool { tools.contains(tool) }

    /// Adds a tool; false when it was there already or cannot be added.
    mutating func allow(_ tool: String) -> Bool {
        guard Self.isValidName(tool), !tools.contains(tool), tools.count < Self.maxTools else { return false }
        tools.append(tool)
        return true
    }

    /// Removes a tool; false when it was not allowed.
    mutating func revoke(_ tool: String) -> Bool {
        guard let index = tools.firstIndex(of: tool) else { return false }
        tools.remove(at: index)
        return true
    }

    /// `{"type":"session_permissions","allowedTools":[…]}`.
    var record: JSONValue {
        ["type": "session_permissions", "allowedTools": .array(tools.map(JSONValue.string))]
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxNameBytes
    }

    /// The strings of a JSON array (others skipped).
    static func names(_ value: JSONValue?) -> [String] {
        (value?.arrayValue ?? []).compactMap(\.stringValue)
    }
}
