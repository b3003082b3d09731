public import AmarreCore
/// Tracks the agent's questions (`extension_ui_request`s that expect an answer) and makes
/// the first answer for an id win, whichever client sends it.
public struct PermissionLedger: Sendable {
    /// `extension_ui_request` methods that wait for an `extension_ui_response`.
    public static let answerableMethods: Set<String> = ["select", "confirm", "input", "editor"]
    /// Answered ids remembered to refuse late duplicates; the oldest are forgotten first.
    public static let maxRememberedAnswers = 4096

    public private(set) var pending: [String] = []
    private var answered: Set<String> = []
    private var answeredOrder: [String] = []
    private var answeredHead = 0

    public init() {}

    public enum Decision: Equatable, Sendable {
        /// Write the answer to the agent and tell every client the request is resolved.
        case forward
        /// Another client answered first: do not forward; tell the sender.
        case alreadyAnswered
    }

    /// Notes a record the agent wrote. Returns true when it opened a question.
    @discardableResult
    public mutating func agentWrote(type: String?, id: String?, method: String?) -> Bool {
        guard type == "extension_ui_request", let id, let method,
              PermissionLedger.answerableMethods.contains(method), !answered.contains(id),
              !pending.contains(id)
        else { return false }
        pending.append(id)
        return true
    }

    /// Whether `id` is open, was answered or withdrawn (as far as remembered), or was never asked.
    public enum RequestState: Equatable, Sendable { case pending, answered, unknown }

    public func state(of id: String) -> RequestState {
        if pending.contains(id) { return .pending }
        return answered.contains(id) ? .answered : .unknown
    }

    /// Decides what to do with a client's `extension_ui_response` for `id`.
    public mutating func clientAnswered(id: String) -> Decision {
        if answered.contains(id) { return .alreadyAnswered }
        if let i = pending.firstIndex(of: id) { pending.remove(at: i) }
        remember(id)
        return .forward
    }

    /// The run ended (`agent_end`): its open questions can no longer be answered. Returns
    /// their ids; a late answer to one gets `alreadyAnswered`.
    public mutating func withdrawAll() -> [String] {
        let ids = pending
        pending.removeAll()
        for id in ids { remember(id) }
        return ids
    }

    /// The agent took one question back. Returns true when it was still open.
    public mutating func withdraw(_ id: String) -> Bool {
        guard let i = pending.firstIndex(of: id) else { return false }
        pending.remove(at: i)
        remember(id)
        return true
    }

    /// The agent went away: its questions can no longer be answered.
    public mutating func reset() {
        pending.removeAll()
    }

    private mutating func remember(_ id: String) {
        answered.insert(id)
        answeredOrder.append(id)
        if answeredOrder.count - answeredHead > PermissionLedger.maxRememberedAnswers {
            answered.remove(answeredOrder[answeredHead])
            answeredHead += 1
            if answeredHead > PermissionLedger.maxRememberedAnswers {
                answeredOrder.removeFirst(answeredHead)
                answeredHead = 0
            }
        }
    }
}
