/// The words of a notification, from what happened; nothing else decides them.
public struct PushTexts: Sendable {
    /// `AMARRE_PUSH_DETAIL`: `full` (the tool and a summary of its input) or `none` (only
    /// that a session needs you).
    public enum Detail: String, Sendable { case full, none }

    /// Characters of a request's summary a notification carries at most.
    public static let maxSummaryCharacters = 100
    /// Characters of a session's name, and of a request's first line, in a notification.
    public static let maxLabelCharacters = 60
    public static let maxHeadCharacters = 80

    static func label(_ name: String?, _ session: String) -> String {
        cut(name.flatMap { $0.isEmpty ? nil : collapse($0) } ?? session, maxLabelCharacters)
    }

    static func cut(_ text: String, _ n: Int) -> String {
        text.count > n ? String(text.prefix(n - 1)) + "…" : text
    }

    public var detail: Detail
    /// Base of links (`AMARRE_PUBLIC_URL`), ending in `/`.
    public var publicURL: String

    public init(detail: Detail, publicURL: String) {
        self.detail = detail
        self.publicURL = publicURL.hasSuffix("/") ? publicURL : publicURL + "/"
    }

    public func url(session: String) -> String { publicURL + "#/s/" + session }

    /// An approval or question still open: its title's first line and at most 100 characters of
    /// the rest (or of its message).
    public func awaitingInput(session: String, name: String?, requestId: String, title: String?, message: String?)
        -> PushEvent
    {
        let label = Self.label(name, session)
        var body = "\(label) needs you"
        if detail == .full {
            let lines = (title ?? "").split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let head = Self.cut(PushTexts.collapse(lines.first.map(String.init) ?? ""), Self.maxHeadCharacters)
            var summary = lines.count > 1 ? String(lines[1]) : ""
            if summary.isEmpty { summary = message ?? "" }
            summary = PushTexts.collapse(summary)
            if summary.count > Self.maxSummaryCharacters { summary = String(summary.prefix(Self.maxSummaryCharacters - 1)) + "…" }
            let text = [head, summary].filter { !$0.isEmpty }.joined(separator: " ")
            if !text.isEmpty { body = text }
        }
        return PushEvent(
            trigger: .awaitingInput, sessionId: session, sessionName: label, requestId: requestId,
            title: "\(label): approval needed", body: body, url: url(session: session))
    }

    public func done(session: String, name: String?) -> PushEvent {
        let label = Self.label(name, session)
        return PushEvent(
            trigger: .done, sessionId: session, sessionName: label, title: "\(label): done",
            body: detail == .full ? "The agent finished its run." : "\(label) needs you", url: url(session: session))
    }

    /// `how`: "code 3", "signal SIGKILL", or a reason (`restore_failed`).
    public func crashed(session: String, name: String?, how: String) -> PushEvent {
        let label = Self.label(name, session)
        return PushEvent(
            trigger: .crashed, sessionId: session, sessionName: label, title: "\(label): crashed",
            body: detail == .full ? "The agent exited (\(Self.cut(how, 120)))" : "\(label) needs you", url: url(session: session))
    }

    public func test() -> PushEvent {
        PushEvent(trigger: .test, sessionId: "", sessionName: "", title: "amarre", body: "Notifications work.", url: publicURL)
    }

    /// One line: runs of white space (newlines included) become one space.
    static func collapse(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace || $0.isNewline }).joined(separator: " ")
    }
}
