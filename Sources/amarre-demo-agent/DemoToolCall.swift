import AmarreAgents
import AmarreJSON

/// A tool call the demo assistant makes. Nothing is ever executed: `cannedOutput` is what the
/// agent reports when the user allows the call.
struct DemoToolCall: Sendable {
    /// `call_<n>`, unique within the process.
    let id: String
    /// `bash` or `edit`, pi's built-in tool names.
    let name: String
    let arguments: JSONValue
    /// How the assistant refers to the call in prose, e.g. "`ls -la`".
    let subject: String
    let cannedOutput: String

    /// pi's `toolCall` content block.
    var contentBlock: JSONValue {
        PiRecord.toolCall(id: id, name: name, arguments: arguments)
    }

    /// The arguments as pi's permission gate extension shows them: compact JSON cut to 400 characters.
    var confirmMessage: String {
        String(arguments.jsonText.prefix(DemoToolCall.confirmMessageLimit))
    }

    static let confirmMessageLimit = 400
}
