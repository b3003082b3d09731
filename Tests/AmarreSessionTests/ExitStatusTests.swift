import AmarreCore
import AmarreSession
import Foundation
import Testing

@Suite("ExitStatus")
struct ExitStatusTests {
    @Test("an exit carries its code and no signal")
    func exited() {
        let s = ExitStatus.exited(3)
        #expect(s.exitCode == 3)
        #expect(s.signal == nil)
        #expect(s.description == "exited with 3")
    }

    @Test("a signal death carries the signal name and no code")
    func signaled() {
        let s = ExitStatus.signaled(9)
        #expect(s.exitCode == nil)
        #expect(s.signal == "SIGKILL")
        #expect(s.description == "killed by SIGKILL")
    }

    @Test(
        "Linux signal numbers have their usual names",
        arguments: [
            (1, "SIGHUP"), (2, "SIGINT"), (6, "SIGABRT"), (9, "SIGKILL"), (11, "SIGSEGV"), (13, "SIGPIPE"),
            (15, "SIGTERM"), (31, "SIGSYS"), (0, "SIG0"), (34, "SIG34"), (64, "SIG64"),
        ] as [(Int32, String)])
    func names(number: Int32, name: String) {
        #expect(ExitStatus.signalName(number) == name)
    }

    @Test("the names match the system's signal numbers")
    func systemNumbers() {
        #expect(ExitStatus.signalName(SIGKILL) == "SIGKILL")
        #expect(ExitStatus.signalName(SIGTERM) == "SIGTERM")
        #expect(ExitStatus.signalName(SIGUSR1) == "SIGUSR1")
        #expect(ExitStatus.signalName(SIGCHLD) == "SIGCHLD")
    }

    @Test("encodes only the field it has")
    func codable() throws {
        let exit = String(decoding: try JSONEncoder().encode(ExitStatus.exited(0)), as: UTF8.self)
        #expect(exit == #"{"exitCode":0}"#)
        let signal = String(decoding: try JSONEncoder().encode(ExitStatus.signaled(15)), as: UTF8.self)
        #expect(signal == #"{"signal":"SIGTERM"}"#)
        #expect(try JSONDecoder().decode(ExitStatus.self, from: Data(exit.utf8)) == .exited(0))
    }

    @Test("an empty status describes itself")
    func unknown() {
        #expect(ExitStatus().description == "exited with ?")
    }
}
