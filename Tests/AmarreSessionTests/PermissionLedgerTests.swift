import AmarreCore
import AmarreSession
import Testing

@Suite("PermissionLedger")
struct PermissionLedgerTests {
    @Test("a question that expects an answer is pending until answered", arguments: ["select", "confirm", "input", "editor"])
    func answerableQuestion(method: String) {
        var ledger = PermissionLedger()
        #expect(ledger.agentWrote(type: "extension_ui_request", id: "q1", method: method) == true)
        #expect(ledger.pending == ["q1"])
        #expect(ledger.clientAnswered(id: "q1") == .forward)
        #expect(ledger.pending.isEmpty)
    }

    @Test("the first answer wins and later ones are refused")
    func firstAnswerWins() {
        var ledger = PermissionLedger()
        ledger.agentWrote(type: "extension_ui_request", id: "q1", method: "confirm")
        #expect(ledger.clientAnswered(id: "q1") == .forward)
        #expect(ledger.clientAnswered(id: "q1") == .alreadyAnswered)
        #expect(ledger.clientAnswered(id: "q1") == .alreadyAnswered)
    }

    @Test("records that do not wait for an answer are not pending", arguments: ["notify", "setStatus", "setWidget", "setTitle", "set_editor_text"])
    func fireAndForgetMethods(method: String) {
        var ledger = PermissionLedger()
        #expect(ledger.agentWrote(type: "extension_ui_request", id: "n1", method: method) == false)
        #expect(ledger.pending.isEmpty)
    }

    @Test("records without type, id or method, or of another type, are not pending")
    func otherRecords() {
        var ledger = PermissionLedger()
        #expect(ledger.agentWrote(type: "message_update", id: "a", method: "select") == false)
        #expect(ledger.agentWrote(type: nil, id: "a", method: "select") == false)
        #expect(ledger.agentWrote(type: "extension_ui_request", id: nil, method: "select") == false)
        #expect(ledger.agentWrote(type: "extension_ui_request", id: "a", method: nil) == false)
        #expect(ledger.pending.isEmpty)
    }

    @Test("pending questions are listed in the order asked, without duplicates")
    func pendingOrder() {
        var ledger = PermissionLedger()
        #expect(ledger.agentWrote(type: "extension_ui_request", id: "b", method: "select") == true)
        #expect(ledger.agentWrote(type: "extension_ui_request", id: "a", method: "input") == true)
        #expect(ledger.agentWrote(type: "extension_ui_request", id: "b", method: "select") == false)
        #expect(ledger.pending == ["b", "a"])
        #expect(ledger.clientAnswered(id: "b") == .forward)
        #expect(ledger.pending == ["a"])
    }

    @Test("a question asked again after it was answered is not pending again")
    func reaskAfterAnswer() {
        var ledger = PermissionLedger()
        ledger.agentWrote(type: "extension_ui_request", id: "q", method: "select")
        _ = ledger.clientAnswered(id: "q")
        #expect(ledger.agentWrote(type: "extension_ui_request", id: "q", method: "select") == false)
        #expect(ledger.pending.isEmpty)
    }

    @Test("an answer to a question never seen is forwarded once")
    func unseenQuestion() {
        var ledger = PermissionLedger()
        #expect(ledger.clientAnswered(id: "ghost") == .forward)
        #expect(ledger.clientAnswered(id: "ghost") == .alreadyAnswered)
        #expect(ledger.pending.isEmpty)
    }

    @Test("reset drops pending questions but keeps refusing answered ones")
    func reset() {
        var ledger = PermissionLedger()
        ledger.agentWrote(type: "extension_ui_request", id: "open", method: "select")
        ledger.agentWrote(type: "extension_ui_request", id: "done", method: "select")
        _ = ledger.clientAnswered(id: "done")
        ledger.reset()
        #expect(ledger.pending.isEmpty)
        #expect(ledger.clientAnswered(id: "done") == .alreadyAnswered)
    }

    @Test("only the most recent answers are remembered")
    func memoryBound() {
        var ledger = PermissionLedger()
        let limit = PermissionLedger.maxRememberedAnswers
        for i in 0...limit { #expect(ledger.clientAnswered(id: "a\(i)") == .forward) }
        // The newest `limit` answers are remembered; the oldest was forgotten.
        #expect(ledger.clientAnswered(id: "a\(limit)") == .alreadyAnswered)
        #expect(ledger.clientAnswered(id: "a1") == .alreadyAnswered)
        #expect(ledger.clientAnswered(id: "a0") == .forward)
    }

    @Test("the bound holds over many answers")
    func memoryBoundOverTime() {
        var ledger = PermissionLedger()
        let limit = PermissionLedger.maxRememberedAnswers
        let total = limit * 3 + 17
        for i in 0..<total { _ = ledger.clientAnswered(id: "\(i)") }
        for i in (total - limit)..<total {
            if ledger.clientAnswered(id: "\(i)") != .alreadyAnswered { Issue.record("answer \(i) forgotten too early") }
        }
        #expect(ledger.clientAnswered(id: "\(total - limit - 1)") == .forward)
        #expect(ledger.clientAnswered(id: "0") == .forward)
    }

    @Test("questions open when the run ends are withdrawn, and a late answer is refused")
    func withdrawAll() {
        var ledger = PermissionLedger()
        ledger.agentWrote(type: "extension_ui_request", id: "q1", method: "confirm")
        ledger.agentWrote(type: "extension_ui_request", id: "q2", method: "select")
        #expect(ledger.clientAnswered(id: "q1") == .forward)
        #expect(ledger.withdrawAll() == ["q2"])
        #expect(ledger.pending.isEmpty)
        #expect(ledger.clientAnswered(id: "q2") == .alreadyAnswered)
        #expect(ledger.withdrawAll().isEmpty)
    }

    @Test("one question taken back is no longer pending, and a late answer is refused")
    func withdrawOne() {
        var ledger = PermissionLedger()
        ledger.agentWrote(type: "extension_ui_request", id: "q1", method: "confirm")
        ledger.agentWrote(type: "extension_ui_request", id: "q2", method: "confirm")
        let first = ledger.withdraw("q1")
        let again = ledger.withdraw("q1")
        #expect(first)
        #expect(!again)
        #expect(ledger.pending == ["q2"])
        #expect(ledger.clientAnswered(id: "q1") == .alreadyAnswered)
    }
}
