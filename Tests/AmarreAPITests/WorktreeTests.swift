@testable import AmarreAPI
import AmarreCore
import Foundation
import Testing

@Suite("Worktrees, changes and files")
struct WorktreeTests {
    @Test("session names become safe branch names")
    func branchNames() {
        #expect(Worktrees.safeBranchName("Fix Tests!") == "fix-tests")
        #expect(Worktrees.safeBranchName("a..b//c") == "a.b//c")
        #expect(Worktrees.safeBranchName("--x--") == "x")
        #expect(Worktrees.safeBranchName("日本") == "session")
        #expect(Worktrees.safeBranchName("x.lock") == "x")
    }

    /// A repository with one commit, in a fresh temporary directory.
    func repository() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-wt-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let git = Git(timeoutMs: 10_000)
        for args in [["init", "-q"], ["config", "user.email", "t@example.org"], ["config", "user.name", "t"]] {
            #expect(git.run(args, in: dir).ok)
        }
        try "one\ntwo\n".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        try Data([0, 1, 2]).write(to: URL(fileURLWithPath: dir + "/b.bin"))
        #expect(git.run(["add", "."], in: dir).ok)
        #expect(git.run(["commit", "-qm", "first"], in: dir).ok)
        return dir
    }

    @Test("changes against HEAD: modified, deleted, renamed, added and untracked, with line counts")
    func changes() throws {
        let repo = try repository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        try "one\n2\nthree\n".write(toFile: repo + "/a.txt", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: repo + "/b.bin")
        try "new\n".write(toFile: repo + "/c.txt", atomically: true, encoding: .utf8)
        let worktrees = Worktrees(configuration: AmarreConfiguration(stateDir: "/nonexistent"))
        let body = try worktrees.changes(cwd: repo, worktree: nil)
        #expect(body.baseRef == "HEAD")
        #expect(body.files.map(\.path) == ["a.txt", "b.bin", "c.txt"])
        #expect(body.files[0].status == "modified" && body.files[0].added == 2 && body.files[0].removed == 1)
        #expect(body.files[1].status == "deleted" && body.files[1].binary)
        #expect(body.files[2].status == "added" && body.files[2].added == 1)
        let diff = try worktrees.diff(cwd: repo, worktree: nil, path: "a.txt")
        #expect(diff.diff.contains("+2\n") && diff.diff.contains("-two\n") && !diff.truncated)
        var small = AmarreConfiguration(stateDir: "/nonexistent")
        small.diffMaxBytes = 40
        let cut = try Worktrees(configuration: small).diff(cwd: repo, worktree: nil, path: "a.txt")
        #expect(cut.truncated && cut.diff.utf8.count <= 40 && cut.diff.hasSuffix("\n"))
        #expect(throws: AmarreError.self) { try worktrees.diff(cwd: repo, worktree: nil, path: "nope.txt") }
        #expect(throws: AmarreError.self) { try worktrees.changes(cwd: "/", worktree: nil) }
    }

    @Test("files: listing, text, binary, and nothing outside the directory, symlinks resolved")
    func files() throws {
        let repo = try repository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        try FileManager.default.createSymbolicLink(atPath: repo + "/out", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: repo + "/in", withDestinationPath: repo + "/a.txt")
        let root = try FileBrowser.read(cwd: repo, relative: "")
        #expect(root.type == "directory")
        #expect(root.entries?.first?.name == ".git")
        #expect(try FileBrowser.read(cwd: repo, relative: "a.txt").text == "one\ntwo\n")
        #expect(try FileBrowser.read(cwd: repo, relative: "b.bin").binary == true)
        #expect(try FileBrowser.read(cwd: repo, relative: "in").text == "one\ntwo\n")
        for escape in ["../", "../etc/passwd", "/etc/passwd", "out/passwd", "out", "a.txt/../../x"] {
            #expect(throws: AmarreError(.forbidden, detail: "outside the session's directory"), "\(escape)") {
                try FileBrowser.read(cwd: repo, relative: escape)
            }
        }
        #expect(throws: AmarreError.self) { try FileBrowser.read(cwd: repo, relative: "missing.txt") }
    }
}
