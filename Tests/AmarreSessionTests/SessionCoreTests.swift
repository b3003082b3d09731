import AmarreAgents
import AmarreCore
import AmarreJSON
import AmarreSession
import Foundation
import Synchronization
import Testing

/// A clock the test moves.
private final class TestClock: Sendable {
    let now = Atomic<Int64>(1_000_000)
    var read: @Sendable () -> Int64 { { [self] in now.load(ordering: .relaxed) } }
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
private func summary(_ text: String) -> JSONScanner.Summary { JSONScanner.scan(Array(text.utf8))! }

/// The records an effect list sends to clients, as text.
private func broadcasts(_ effects: [SessionCore.Effect]) -> [String] {
    effects.compactMap { if case .broadcast(_, let record) = $0 { text(record) } else { nil } }
}

private func appended(_ effects: [SessionCore.Effect]) -> [(Int64, String, String?)] {
    effects.compactMap { if case .append(let seq, let record, let type) = $0 { (seq, text(record), type) } else { nil } }
}

private func agentLines(_ effects: [SessionCore.Effect]) -> [String] {
    effects.compactMap { if case .writeAgent(let line) = $0 { text(line) } else { nil } }
}

private func confirmRequest(id: String) -> String {
    #"{"type":"extension_ui_request","id":\#(id),"method":"confirm","title":"Run?","message":"rm -rf build"}"#
}

/// A started core without an adapter (records pass through).
private func runningCore(clock: TestClock = TestClock(), graceMs: Int64 = 0) -> SessionCore {
    var core = SessionCore(notificationGraceMs: graceMs, clock: clock.read)
    _ = core.agentStarted(adapter: nil)
    return core
}

@Suite("SessionCore: sequence numbers and their reservation")
struct SessionCoreSequenceTests {
    @Test("the first record waits for a committed reservation before it reaches anyone")
    func firstRecordWaitsForReservation() {
        var core = runningCore()
        let effects = core.agentWrote(bytes(#"{"type":"agent_start"}"#))
        #expect(effects.first == .saveSession(waitForCommit: true))
        #expect(appended(effects).map(\.0) == [1])
        #expect(broadcasts(effects) == [#"{"_seq":1,"type":"agent_start"}"#])
        #expect(core.lastSeq == 1)
        #expect(core.seqReserved == 1 + SessionCore.seqReservationBlock)
    }

    @Test("within a reservation no save; past its half the next one is written ahead, without waiting")
    func reservationRenewedAhead() {
        var core = runningCore()
        _ = core.agentWrote(bytes("{}"))
        let half = SessionCore.seqReservationBlock / 2
        var saves = [Bool]()
        for _ in 2...(half + 2) {
            for effect in core.agentWrote(bytes("{}")) {
                if case .saveSession(let wait) = effect { saves.append(wait) }
            }
        }
        #expect(saves == [false])
        #expect(core.seqReserved > core.lastSeq + half)
    }

    @Test("after an unclean stop numbering resumes past the reservation; a clean stop releases it")
    func restoredSkipsReservedNumbers() {
        var core = SessionCore(lastSeq: 7, seqReserved: 100_007)
        _ = core.agentStarted(adapter: nil)
        let effects = core.agentWrote(bytes("{}"))
        #expect(appended(effects).map(\.0) == [100_008])
        #expect(effects.first == .saveSession(waitForCommit: true))
        core.releaseReservation()
        #expect(core.seqReserved == core.lastSeq)
        let restored = SessionCore(lastSeq: 12, seqReserved: 12)
        #expect(restored.lastSeq == 12)
    }

    @Test("server records are numbered in the same sequence as the agent's")
    func serverRecordsShareTheSequence() {
        var core = runningCore()
        _ = core.agentWrote(bytes(#"{"type":"a"}"#))
        let effects = core.publish(.sessionEvent(.renamed(name: "x")))
        #expect(broadcasts(effects) == [#"{"_seq":2,"type":"amarre.session_event","event":"renamed","name":"x"}"#])
    }
}

@Suite("SessionCore: framing")
struct SessionCoreFramingTests {
    @Test(
        "what the agent writes is framed, wrapped or cleaned as SPEC says",
        arguments: [
            (#"{"type":"message_update","x":1}"#, #"{"_seq":1,"type":"message_update","x":1}"#, "message_update" as String?),
            ("[1,2]", #"{"type":"amarre.raw","_seq":1,"line":"[1,2]"}"#, nil),
            ("not json", #"{"type":"amarre.raw","_seq":1,"line":"not json"}"#, nil),
            (#"{"type":"amarre.hello","x":1}"#, #"{"type":"amarre.raw","_seq":1,"line":"{\"type\":\"amarre.hello\",\"x\":1}"}"#, nil),
            (#"{"type":"t","_seq":99,"_x":true,"y":2}"#, #"{"_seq":1,"type":"t","y":2}"#, "t"),
        ])
    func framing(line: String, published: String, type: String?) {
        var core = runningCore()
        let effects = core.agentWrote(bytes(line))
        #expect(broadcasts(effects) == [published])
        #expect(appended(effects).map(\.1) == [published])
        #expect(appended(effects).map(\.2) == [type])
    }

    @Test("a deleted session still relays but stores and saves nothing")
    func deletedStoresNothing() {
        var core = runningCore()
        core.markDeleted()
        let effects = core.agentWrote(bytes(confirmRequest(id: #""q1""#)))
        #expect(appended(effects).isEmpty)
        #expect(!effects.contains { if case .saveSession = $0 { true } else { false } })
        #expect(broadcasts(effects).count == 1)
    }
}

@Suite("SessionCore: questions and answers")
struct SessionCoreLedgerTests {
    @Test("a question is saved and opened before it is stored and sent, due after the grace")
    func questionOpened() {
        let clock = TestClock()
        var core = runningCore(clock: clock, graceMs: 5000)
        _ = core.agentWrote(bytes("{}"))
        let effects = core.agentWrote(bytes(confirmRequest(id: #""q1""#)))
        let kinds = effects.map { effect -> String in
            switch effect {
            case .saveSession: "save"
            case .requestOpened: "opened"
            case .append: "append"
            case .broadcast: "broadcast"
            default: "other"
            }
        }
        #expect(kinds == ["save", "opened", "append", "broadcast"])
        #expect(effects.contains(.requestOpened(id: "q1", dueAt: 1_005_000)))
        #expect(core.ledger.pending == ["q1"])
        #expect(core.openRequests["q1"]?.title == "Run?")
        #expect(core.openRequests["q1"]?.message == "rm -rf build")
        #expect(core.openRequestRecords.map(text) == [broadcasts(effects)[0]])
    }

    @Test("a notify request (no answer expected) opens nothing")
    func notifyOpensNothing() {
        var core = runningCore()
        let effects = core.agentWrote(bytes(#"{"type":"extension_ui_request","id":"n","method":"notify"}"#))
        #expect(!effects.contains { if case .requestOpened = $0 { true } else { false } })
        #expect(core.ledger.pending.isEmpty)
    }

    @Test("the first answer wins: it is resolved for everyone and written; a second one is refused to its sender")
    func firstAnswerWins() {
        var core = runningCore()
        _ = core.agentWrote(bytes(confirmRequest(id: #""q1""#)))
        let answer = #"{"type":"extension_ui_response","id":"q1","confirmed":true}"#
        let first = core.clientSent(bytes(answer), summary: summary(answer))
        #expect(broadcasts(first) == [#"{"_seq":2,"type":"amarre.request_resolved","id":"q1","response":\#(answer)}"#])
        #expect(agentLines(first) == [answer])
        #expect(core.ledger.pending.isEmpty)
        #expect(core.openRequests.isEmpty)
        let second = core.clientSent(bytes(answer), summary: summary(answer))
        #expect(
            second == [.reply(.error("already_answered", detail: "another client answered this request first", id: "q1"))])
    }

    @Test("REST answers use the id as the agent wrote it (a number stays a number)")
    func restAnswerKeepsNumericID() throws {
        var core = runningCore()
        _ = core.agentWrote(bytes(confirmRequest(id: "42")))
        let effects = try core.answerRequest("42", .confirmed(false))
        #expect(agentLines(effects) == [#"{"type":"extension_ui_response","id":42,"confirmed":false}"#])
        #expect(throws: AmarreError.self) { try core.answerRequest("42", .confirmed(true)) }
        do {
            _ = try core.answerRequest("nope", .cancelled)
            Issue.record("an unknown request was answered")
        } catch {
            #expect(error.code == .notFound)
        }
        do {
            _ = try core.answerRequest("42", .cancelled)
            Issue.record("an answered request was answered again")
        } catch {
            #expect(error.code == .alreadyAnswered)
        }
    }

    @Test("the end of a run withdraws its open questions, then ends the run")
    func agentEndWithdraws() {
        var core = runningCore()
        _ = core.agentWrote(bytes(confirmRequest(id: #""a""#)))
        _ = core.agentWrote(bytes(confirmRequest(id: #""b""#)))
        let effects = core.agentWrote(bytes(#"{"type":"agent_end"}"#))
        #expect(
            broadcasts(effects) == [
                #"{"_seq":3,"type":"agent_end"}"#,
                #"{"_seq":4,"type":"amarre.request_withdrawn","id":"a"}"#,
                #"{"_seq":5,"type":"amarre.request_withdrawn","id":"b"}"#,
            ])
        #expect(effects.last == .runEnded)
        #expect(core.ledger.pending.isEmpty)
        let late = #"{"type":"extension_ui_response","id":"a","confirmed":true}"#
        #expect(core.clientSent(bytes(late), summary: summary(late)).count == 1)
    }

    @Test("notifications: none before the grace; after it once, and not for answered questions")
    func dueRequests() {
        let clock = TestClock()
        var core = runningCore(clock: clock, graceMs: 1000)
        _ = core.agentWrote(bytes(confirmRequest(id: #""a""#)))
        _ = core.agentWrote(bytes(confirmRequest(id: #""b""#)))
        #expect(!core.hasDueRequests(now: 1_000_500))
        #expect(core.dueRequests(now: 1_000_500).isEmpty)
        let answer = #"{"type":"extension_ui_response","id":"b","value":"x"}"#
        _ = core.clientSent(bytes(answer), summary: summary(answer))
        #expect(core.hasDueRequests(now: 1_001_000))
        #expect(core.dueRequests(now: 1_001_000).map(\.id) == ["a"])
        #expect(core.dueRequests(now: 1_002_000).isEmpty)
        #expect(!core.hasDueRequests(now: 1_002_000))
    }

    @Test("a crash or the end for viewers leaves nothing pending")
    func crashClearsQuestions() {
        var core = runningCore()
        _ = core.agentWrote(bytes(confirmRequest(id: #""a""#)))
        core.agentCrashed()
        #expect(core.ledger.pending.isEmpty && core.openRequests.isEmpty && !core.hasAgent)
        var other = runningCore()
        _ = other.agentWrote(bytes(confirmRequest(id: #""a""#)))
        other.closeAllRequests()
        #expect(other.ledger.pending.isEmpty && other.openRequests.isEmpty && other.hasAgent)
    }
}

@Suite("SessionCore: what clients send")
struct SessionCoreClientTests {
    @Test("presence frames become presence; other amarre frames are consumed")
    func serverFrames() {
        var core = runningCore()
        let visible = #"{"type":"amarre.presence","visible":false}"#
        #expect(core.clientSent(bytes(visible), summary: summary(visible)) == [.presence(visible: false)])
        let broken = #"{"type":"amarre.presence"}"#
        #expect(core.clientSent(bytes(broken), summary: summary(broken)).isEmpty)
        let other = #"{"type":"amarre.whatever"}"#
        #expect(core.clientSent(bytes(other), summary: summary(other)).isEmpty)
    }

    @Test("a prompt goes to the agent; without an agent process nothing is written")
    func promptToAgent() throws {
        var core = runningCore()
        let prompt = #"{"type":"prompt","message":"hi"}"#
        #expect(core.clientSent(bytes(prompt), summary: summary(prompt)) == [.writeAgent(bytes(prompt))])
        core.agentGone()
        #expect(core.clientSent(bytes(prompt), summary: summary(prompt)).isEmpty)
        #expect(try core.inject(bytes(prompt)).isEmpty)
    }
}

/// Doubles every record the agent writes into two client records, answers clients with a
/// line for the agent, withdraws on request and learns a resume token.
private struct EchoAdapter: AgentAdapter {
    var resumeToken: String?
    var carry = AdapterCarry()

    mutating func started() -> AdapterOutput { AdapterOutput(toAgent: [Array(#"{"init":true}"#.utf8)]) }

    mutating func fromAgent(_ line: [UInt8]) -> AdapterOutput {
        let value = JSONValue.parse(line)
        if let token = value?["token"]?.stringValue { resumeToken = token }
        if let tool = value?["grant"]?.stringValue { carry.allowedTools.append(tool) }
        if let withdrawn = value?["withdraw"]?.stringValue { return AdapterOutput(withdrawn: [withdrawn]) }
        return AdapterOutput(toClients: [line, Array(#"{"type":"copy"}"#.utf8)])
    }

    mutating func fromClient(_ line: [UInt8]) -> AdapterOutput {
        AdapterOutput(toAgent: [Array("translated:".utf8) + line])
    }
}

@Suite("SessionCore: adapter dispatch")
struct SessionCoreAdapterTests {
    @Test("started: the adapter's first lines go to the agent")
    func started() {
        var core = SessionCore()
        #expect(core.agentStarted(adapter: EchoAdapter()) == [.writeAgent(bytes(#"{"init":true}"#))])
    }

    @Test("agent lines go through the adapter; each record it makes is published in order")
    func fromAgent() {
        var core = SessionCore()
        _ = core.agentStarted(adapter: EchoAdapter())
        let effects = core.agentWrote(bytes(#"{"type":"x"}"#))
        #expect(broadcasts(effects) == [#"{"_seq":1,"type":"x"}"#, #"{"_seq":2,"type":"copy"}"#])
    }

    @Test("client values go through the adapter")
    func fromClient() {
        var core = SessionCore()
        _ = core.agentStarted(adapter: EchoAdapter())
        let value = #"{"type":"prompt"}"#
        #expect(agentLines(core.clientSent(bytes(value), summary: summary(value))) == [#"translated:{"type":"prompt"}"#])
    }

    @Test("a withdrawn question is published as withdrawn and saved")
    func withdrawn() {
        var core = SessionCore()
        _ = core.agentStarted(adapter: EchoAdapter())
        _ = core.agentWrote(bytes(confirmRequest(id: #""q""#)))
        let effects = core.agentWrote(bytes(#"{"withdraw":"q"}"#))
        #expect(broadcasts(effects) == [#"{"_seq":3,"type":"amarre.request_withdrawn","id":"q"}"#])
        #expect(effects.contains(.saveSession(waitForCommit: false)))
        #expect(core.ledger.pending.isEmpty)
    }

    @Test("a new resume token or grant is saved; the same again is not")
    func resumeTokenAndCarry() {
        var core = SessionCore()
        _ = core.agentStarted(adapter: EchoAdapter())
        _ = core.agentWrote(bytes("{}"))
        let learned = core.agentWrote(bytes(#"{"token":"t1"}"#))
        #expect(core.resumeToken == "t1")
        #expect(learned.last == .saveSession(waitForCommit: false))
        let again = core.agentWrote(bytes(#"{"token":"t1"}"#))
        #expect(!again.contains(.saveSession(waitForCommit: false)))
        let granted = core.agentWrote(bytes(#"{"grant":"Bash"}"#))
        #expect(core.carry.allowedTools == ["Bash"])
        #expect(granted.last == .saveSession(waitForCommit: false))
    }

    @Test("a crash drops the adapter: later agent lines pass through untranslated")
    func crashDropsAdapter() {
        var core = SessionCore()
        _ = core.agentStarted(adapter: EchoAdapter())
        core.agentCrashed()
        let effects = core.agentWrote(bytes(#"{"type":"x"}"#))
        #expect(broadcasts(effects) == [#"{"_seq":1,"type":"x"}"#])
    }
}

@Suite("SessionCore: lifecycle and restart budget")
struct SessionCoreLifecycleTests {
    @Test("exit then end of output reports the crash; stop then exit finishes the stop")
    func lifecycle() {
        var core = runningCore()
        #expect(core.processExited(ExitStatus(exitCode: 3, signal: nil)) == [.lifecycle(.awaitDrain)])
        #expect(core.stdoutClosed() == [.lifecycle(.reportCrash(ExitStatus(exitCode: 3, signal: nil)))])
        var other = runningCore()
        #expect(other.stopRequested() == [.lifecycle(.terminate)])
        #expect(other.graceExpired() == [.lifecycle(.kill)])
        _ = other.stdoutClosed()
        #expect(other.processExited(ExitStatus(exitCode: nil, signal: "SIGKILL")) == [.lifecycle(.finishStop(ExitStatus(exitCode: nil, signal: "SIGKILL")))])
    }

    @Test("restarts follow the policy; without one nothing restarts")
    func restartBudget() {
        var none = runningCore()
        #expect(none.restartDecision(after: ExitStatus(exitCode: 1, signal: nil), nowMs: 0) == .none)
        var core = SessionCore(restartPolicy: RestartPolicy(policy: .onFailure, max: 2, windowSeconds: 60), restartBaseDelayMs: 100)
        #expect(core.restartDecision(after: ExitStatus(exitCode: 0, signal: nil), nowMs: 0) == .none)
        #expect(core.restartDecision(after: ExitStatus(exitCode: 1, signal: nil), nowMs: 0) == .restart(attempt: 1, delayMs: 100))
        #expect(core.restartDecision(after: ExitStatus(exitCode: 1, signal: nil), nowMs: 10) == .restart(attempt: 2, delayMs: 200))
        #expect(core.restartDecision(after: ExitStatus(exitCode: 1, signal: nil), nowMs: 20) == .giveUp(attempts: 2))
    }
}

final class Viewer {}

private func terminalCore(scrollback: Int = 100) -> SessionCore {
    var core = SessionCore(terminalScrollbackBytes: scrollback)
    _ = core.agentStarted(adapter: nil)
    return core
}

private func input(_ text: String) -> String {
    #"{"type":"terminal.input","data":""# + Data(text.utf8).base64EncodedString() + #""}"#
}

private func resize(_ cols: Int, _ rows: Int) -> String { #"{"type":"terminal.resize","cols":\#(cols),"rows":\#(rows)}"# }

@Suite("SessionCore: terminal sessions")
struct SessionCoreTerminalTests {
    // Kept alive: two identifiers of objects that live at once differ.
    let viewers = (Viewer(), Viewer())
    var a: SessionCore.ClientKey { ObjectIdentifier(viewers.0) }
    var b: SessionCore.ClientKey { ObjectIdentifier(viewers.1) }

    @Test("output becomes terminal.output records, base64, in the sequence")
    func output() {
        var core = terminalCore()
        let effects = core.terminalOutput(Array("hi\u{1B}[0m".utf8))
        #expect(broadcasts(effects) == [#"{"_seq":1,"type":"terminal.output","data":"aGkbWzBt"}"#])
        #expect(appended(effects).map(\.2) == ["terminal.output"])
        #expect(core.terminalOutput([]).isEmpty)
    }

    @Test("typed input is written as bytes; the size follows the viewer that typed last")
    func latestTypist() {
        var core = terminalCore()
        let first = core.clientSent(bytes(resize(100, 30)), summary: summary(resize(100, 30)), client: a)
        #expect(first.first == .resizeTerminal(.init(cols: 100, rows: 30)))
        #expect(broadcasts(first) == [#"{"_seq":1,"type":"terminal.size","cols":100,"rows":30}"#])
        #expect(core.clientSent(bytes(input("ls\r")), summary: summary(input("ls\r")), client: a) == [.writeTerminal(bytes("ls\r"))])
        // b is not the typist: its size is remembered, not applied.
        #expect(core.clientSent(bytes(resize(50, 20)), summary: summary(resize(50, 20)), client: b).isEmpty)
        let typed = core.clientSent(bytes(input("x")), summary: summary(input("x")), client: b)
        #expect(typed.first == .resizeTerminal(.init(cols: 50, rows: 20)))
        #expect(typed.last == .writeTerminal(bytes("x")))
        #expect(core.terminal?.typist == b)
        // The same size again changes nothing.
        #expect(core.clientSent(bytes(resize(50, 20)), summary: summary(resize(50, 20)), client: b).isEmpty)
        core.clientLeft(b)
        #expect(core.terminal?.typist == nil)
        // Nobody typed since: any viewer's size applies.
        #expect(core.clientSent(bytes(resize(90, 25)), summary: summary(resize(90, 25)), client: a).first == .resizeTerminal(.init(cols: 90, rows: 25)))
    }

    @Test("a read-only viewer cannot type and does not size the terminal")
    func readOnly() {
        var core = terminalCore()
        let typed = core.clientSent(bytes(input("rm\r")), summary: summary(input("rm\r")), client: a, readOnly: true)
        #expect(typed == [.reply(.error("read_only", detail: "this client is attached read-only"))])
        #expect(core.clientSent(bytes(resize(10, 10)), summary: summary(resize(10, 10)), client: a, readOnly: true).isEmpty)
        #expect(core.terminal?.size == .init(cols: 80, rows: 24))
    }

    @Test(
        "bad frames get their error and write nothing",
        arguments: [
            (#"{"type":"terminal.input","data":"%%%"}"#, "invalid_input"),
            (#"{"type":"terminal.input"}"#, "invalid_input"),
            (#"{"type":"terminal.resize","cols":0,"rows":5}"#, "invalid_size"),
            (#"{"type":"terminal.resize","cols":5,"rows":1001}"#, "invalid_size"),
            (#"{"type":"terminal.resize","cols":"5","rows":5}"#, "invalid_size"),
            (#"{"type":"prompt","message":"hi"}"#, "unsupported"),
        ])
    func badFrames(frame: String, code: String) {
        var core = terminalCore()
        let effects = core.clientSent(bytes(frame), summary: summary(frame), client: a)
        #expect(effects.count == 1)
        guard case .reply(.error(let got, _, _, _, _)) = effects.first else {
            Issue.record("no error reply: \(effects)")
            return
        }
        #expect(got == code)
    }

    @Test("input over the limit is refused whole")
    func inputTooLarge() {
        var core = terminalCore()
        let frame = input(String(repeating: "x", count: SessionCore.maxTerminalInputBytes + 1))
        let effects = core.clientSent(bytes(frame), summary: summary(frame), client: a)
        #expect(effects == [.reply(.error("input_too_large", bytes: SessionCore.maxTerminalInputBytes + 1, limit: SessionCore.maxTerminalInputBytes))])
    }

    @Test("a new viewer starts at the oldest output record within the scrollback; the newest always stays")
    func scrollback() {
        var core = terminalCore(scrollback: 100)
        #expect(core.terminalScrollbackStart == 0)
        _ = core.terminalOutput(Array(repeating: 65, count: 60))  // seq 1
        _ = core.terminalOutput(Array(repeating: 66, count: 30))  // seq 2
        #expect(core.terminalScrollbackStart == 0)
        _ = core.terminalOutput(Array(repeating: 67, count: 30))  // seq 3: 120 > 100, seq 1 goes
        #expect(core.terminalScrollbackStart == 1)
        _ = core.terminalOutput(Array(repeating: 68, count: 500))  // seq 4 alone is over the bound
        #expect(core.terminalScrollbackStart == 3)
        #expect(SessionCore().terminalScrollbackStart == nil)
    }

    @Test("REST prompts are refused on a terminal session")
    func noPrompts() {
        var core = terminalCore()
        #expect(throws: AmarreError.self) { try core.inject(bytes(#"{"type":"prompt","message":"hi"}"#)) }
    }
}

@Suite("ClientCursor: a viewer's place in the log")
struct ClientCursorTests {
    @Test("live records are queued while they fit; one always fits an empty queue")
    func live() {
        var cursor = ClientCursor(at: 5)
        let r1 = cursor.offer(seq: 6, bytes: 10, queuedBytes: 0, queueEmpty: true, limit: 4, canCatchUp: true)
        #expect(r1 == .queue)
        let r2 = cursor.offer(seq: 7, bytes: 2, queuedBytes: 2, queueEmpty: false, limit: 4, canCatchUp: true)
        #expect(r2 == .queue)
        #expect(cursor.delivered == 7)
    }

    @Test("past the limit it catches up from its cursor, skips live records, and rejoins where the log ends")
    func catchUpAndRejoin() {
        var cursor = ClientCursor(at: 7)
        let r3 = cursor.offer(seq: 8, bytes: 3, queuedBytes: 2, queueEmpty: false, limit: 4, canCatchUp: true)
        #expect(r3 == .catchUp)
        #expect(cursor.delivered == 7 && cursor.mode == .catchingUp)
        let r4 = cursor.offer(seq: 9, bytes: 1, queuedBytes: 0, queueEmpty: true, limit: 4, canCatchUp: true)
        #expect(r4 == .skip)
        let r5 = cursor.caughtUp(through: 8)
        #expect(r5)
        let r6 = cursor.caughtUp(through: nil)
        #expect(r6)
        #expect(cursor.delivered == 8)
        let r7 = cursor.rejoin(at: 9)
        #expect(r7)
        #expect(cursor.mode == .live && cursor.delivered == 9)
        let r8 = cursor.rejoin(at: 10)
        #expect(!r8)
        let r9 = cursor.caughtUp(through: 10)
        #expect(!r9)
        let r10 = cursor.offer(seq: 10, bytes: 1, queuedBytes: 0, queueEmpty: true, limit: 4, canCatchUp: true)
        #expect(r10 == .queue)
    }

    @Test("without a store a viewer past its limit is dropped and takes nothing more")
    func dropWithoutStore() {
        var cursor = ClientCursor(at: 1)
        let r11 = cursor.offer(seq: 2, bytes: 5, queuedBytes: 1, queueEmpty: false, limit: 4, canCatchUp: false)
        #expect(r11 == .drop)
        #expect(cursor.mode == .ended)
        let r12 = cursor.offer(seq: 3, bytes: 1, queuedBytes: 0, queueEmpty: true, limit: 4, canCatchUp: false)
        #expect(r12 == .skip)
        cursor.beginCatchUp(after: 0)
        #expect(cursor.mode == .ended)
    }

    @Test("a since replay starts catching up at since; an ended cursor stays ended")
    func sinceReplay() {
        var cursor = ClientCursor(at: 50)
        cursor.beginCatchUp(after: 20)
        #expect(cursor.mode == .catchingUp && cursor.delivered == 20)
        cursor.end()
        let r13 = cursor.rejoin(at: 50)
        #expect(!r13)
        #expect(cursor.mode == .ended)
    }
}

@Suite("SessionCore: the scrollback is bounded in records too")
struct SessionCoreScrollbackCountTests {
    @Test("many small output records keep at most maxScrollbackRecords")
    func countBound() {
        var core = SessionCore(terminalScrollbackBytes: 1 << 30)
        _ = core.agentStarted(adapter: nil)
        let total = SessionCore.maxScrollbackRecords + 5
        for _ in 0..<total { _ = core.terminalOutput([0x2E]) }
        #expect(core.terminalScrollbackStart == Int64(total - SessionCore.maxScrollbackRecords))
    }
}
