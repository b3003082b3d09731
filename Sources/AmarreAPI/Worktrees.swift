public import AmarreCore
import Foundation

/// Git worktrees for sessions (`POST /sessions` with `"worktree"`), what changed in a
/// session's directory, its files, and the worktree's removal at delete. All of it runs git or
/// reads files on amarre-api's threads; the host only keeps the result in the summary.
public struct Worktrees: Sendable {
    public let configuration: AmarreConfiguration

    public init(configuration: AmarreConfiguration) {
        self.configuration = configuration
    }

    var git: Git { Git(timeoutMs: configuration.gitTimeoutMs) }

    // MARK: creation

    /// What `prepare` made, so that a session that cannot be created takes back exactly that
    /// (never a branch or a worktree that was there before).
    struct Made {
        var worktree = false
        var branch = false
    }

    /// Makes (or reuses) the worktree of `spec` and returns where it is (its real path).
    /// `inUse` maps the real paths of live sessions' worktrees to their ids. Only worktrees under
    /// the worktree root are amarre's to reuse; one the user made elsewhere is refused.
    func prepare(
        _ spec: WorktreeSpec, instance: InstanceConfig, sessionName: String?, fallbackName: String, inUse: [String: String]
    ) throws(AmarreError) -> (info: WorktreeInfo, made: Made) {
        let top = git.run(["rev-parse", "--show-toplevel"], in: spec.repo)
        guard top.ok, FileManager.default.fileExists(atPath: spec.repo) else {
            throw .badRequest("\(spec.repo) is not a git repository")
        }
        let repo = top.text.trimmingCharacters(in: .newlines)
        if let allowed = instance.repos {
            let real = Self.realpath(repo) ?? repo
            guard allowed.contains(where: { (Self.realpath($0) ?? $0) == real }) else {
                throw .badRequest("instance \"\(instance.id)\" takes worktrees of \(allowed.joined(separator: ", ")) only")
            }
        }
        let branch = spec.branch ?? "amarre/" + Self.safeBranchName(sessionName ?? fallbackName)
        guard !branch.hasPrefix("-"), git.run(["check-ref-format", "--branch", branch], in: repo).ok else {
            throw .badRequest("\"\(branch)\" is not a valid branch name")
        }
        let root = instance.worktreeRoot ?? configuration.worktreeRoot
        // A worktree that has the branch checked out already is reused, if it is amarre's.
        if let listed = worktreePath(of: branch, in: repo) {
            let existing = Self.realpath(listed) ?? listed
            if let session = inUse[existing] {
                throw .badRequest("branch \(branch) is in use by session \(session)")
            }
            // The repository's own checkout, or one the user made elsewhere, is never an agent's.
            guard Self.isUnder(existing, root: root) else {
                throw .badRequest("branch \(branch) is checked out in \(existing), which is not amarre's; give the session another branch")
            }
            let base = try resolveBase(spec.base, branch: branch, in: repo)
            return (WorktreeInfo(repo: repo, branch: branch, base: base, path: existing, baseRef: spec.base), Made())
        }
        let path = root + "/" + URL(fileURLWithPath: repo).lastPathComponent + "/" + branch
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw .badRequest("cannot create \((path as NSString).deletingLastPathComponent): \(error.localizedDescription)")
        }
        let exists = git.run(["rev-parse", "--verify", "--quiet", "refs/heads/" + branch], in: repo).ok
        let base: String
        let add: Git.Result
        if exists {
            base = try resolveBase(spec.base, branch: branch, in: repo)
            add = git.run(["worktree", "add", "--", path, branch], in: repo)
        } else {
            base = try resolveCommit(spec.base ?? "HEAD", in: repo)
            add = git.run(["worktree", "add", "-b", branch, "--", path, base], in: repo)
        }
        guard add.ok else { throw .badRequest("git worktree add failed: " + Self.firstLines(add.errorText)) }
        return (
            WorktreeInfo(repo: repo, branch: branch, base: base, path: Self.realpath(path) ?? path, baseRef: spec.base),
            Made(worktree: true, branch: !exists)
        )
    }

    /// Takes back what `prepare` made for a session that could not be created.
    func discard(_ info: WorktreeInfo, made: Made) {
        if made.worktree { _ = git.run(["worktree", "remove", "--force", "--", info.path], in: info.repo) }
        if made.branch { _ = git.run(["branch", "-D", "--", info.branch], in: info.repo) }
    }

    /// `path` is strictly inside `root` (both resolved).
    static func isUnder(_ path: String, root: String) -> Bool {
        let base = realpath(root) ?? root
        return path.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }

    /// The worktree (of `repo`) that has `branch` checked out.
    func worktreePath(of branch: String, in repo: String) -> String? {
        let list = git.run(["worktree", "list", "--porcelain"], in: repo)
        guard list.ok else { return nil }
        var path: String?
        for line in list.text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("worktree ") { path = String(line.dropFirst("worktree ".count)) }
            if line == "branch refs/heads/" + branch, let path { return path }
        }
        return nil
    }

    private func resolveCommit(_ ref: String, in repo: String) throws(AmarreError) -> String {
        guard !ref.hasPrefix("-") else { throw .badRequest("\"\(ref)\" is not a commit") }
        let r = git.run(["rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"], in: repo)
        guard r.ok else { throw .badRequest("\(ref) is not a commit of \(repo)") }
        return r.text.trimmingCharacters(in: .newlines)
    }

    /// For an existing branch: the given base, else where the branch left the repo's HEAD.
    private func resolveBase(_ base: String?, branch: String, in repo: String) throws(AmarreError) -> String {
        if let base { return try resolveCommit(base, in: repo) }
        let r = git.run(["merge-base", "HEAD", "refs/heads/" + branch], in: repo)
        return r.ok ? r.text.trimmingCharacters(in: .newlines) : try resolveCommit(branch, in: repo)
    }

    /// A session name as a branch: lowercase letters, digits and `-_./`, other runs as `-`.
    static func safeBranchName(_ name: String) -> String {
        var out = ""
        var dash = false
        for scalar in name.lowercased().unicodeScalars {
            if scalar.isASCII, CharacterSet.alphanumerics.contains(scalar) || "-_./".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
                dash = false
            } else if !dash {
                out += "-"
                dash = true
            }
        }
        while out.contains("..") { out = out.replacingOccurrences(of: "..", with: ".") }
        out = out.trimmingCharacters(in: CharacterSet(charactersIn: "-./"))
        if out.hasSuffix(".lock") { out.removeLast(5) }
        return out.isEmpty ? "session" : String(out.prefix(100))
    }

    static func firstLines(_ text: String) -> String {
        text.split(separator: "\n").prefix(3).joined(separator: " ")
    }

    static func realpath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    // MARK: removal at delete

    /// `{"path","removed","reason"?}` after the session's delete: removed when clean (or `force`).
    func remove(_ info: WorktreeInfo, force: Bool, root: String) -> WorktreeRemoval {
        guard FileManager.default.fileExists(atPath: info.path) else {
            return WorktreeRemoval(path: info.path, removed: true)
        }
        // Only worktrees amarre made (under its root) are ever removed.
        guard Self.isUnder(Self.realpath(info.path) ?? info.path, root: root) else {
            return WorktreeRemoval(path: info.path, removed: false, reason: "not under amarre's worktree root")
        }
        if !force {
            let status = git.run(["status", "--porcelain", "--untracked-files=normal"], in: info.path)
            guard status.ok else { return WorktreeRemoval(path: info.path, removed: false, reason: Self.firstLines(status.errorText)) }
            if !status.output.isEmpty { return WorktreeRemoval(path: info.path, removed: false, reason: "dirty") }
        }
        let r = git.run(["worktree", "remove"] + (force ? ["--force", "--force"] : []) + ["--", info.path], in: info.repo)
        return r.ok
            ? WorktreeRemoval(path: info.path, removed: true)
            : WorktreeRemoval(path: info.path, removed: false, reason: Self.firstLines(r.errorText))
    }
}

/// What became of a worktree at its session's delete.
struct WorktreeRemoval: Encodable {
    var path: String
    var removed: Bool
    var reason: String?
}
