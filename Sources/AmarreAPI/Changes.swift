import AmarreCore
import Foundation

/// `GET /sessions/<id>/changes`: what differs in the session's repository from its base.
struct ChangedFile: Encodable, Equatable {
    var path: String
    var status: String
    var oldPath: String?
    var added: Int
    var removed: Int
    var binary: Bool
}

struct ChangesBody: Encodable {
    var root: String
    var base: String
    var baseRef: String
    var files: [ChangedFile]
}

struct DiffBody: Encodable {
    var path: String
    var status: String
    var diff: String
    var truncated: Bool
    var binary: Bool
}

extension Worktrees {
    /// git's empty tree: the base of a repository without commits.
    static let emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    /// Bytes of an untracked file read to count its lines and tell binary files.
    static let untrackedReadBytes = 8 << 20

    /// The repository at `cwd` and the commit to compare with: the worktree's base, else HEAD.
    func changeBase(cwd: String, worktree: WorktreeInfo?) throws(AmarreError) -> (root: String, base: String, ref: String) {
        let top = git.run(["rev-parse", "--show-toplevel"], in: cwd)
        guard top.ok else { throw AmarreError(.notFound, detail: "\(cwd) is not in a git repository") }
        let root = top.text.trimmingCharacters(in: .newlines)
        if let worktree, (Self.realpath(worktree.path) ?? worktree.path) == (Self.realpath(root) ?? root) {
            return (root, worktree.base, worktree.baseRef ?? worktree.base)
        }
        let head = git.run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], in: root)
        return (root, head.ok ? head.text.trimmingCharacters(in: .newlines) : Self.emptyTree, "HEAD")
    }

    func changes(cwd: String, worktree: WorktreeInfo?) throws(AmarreError) -> ChangesBody {
        let (root, base, ref) = try changeBase(cwd: cwd, worktree: worktree)
        let numstat = git.run(["diff", "--no-ext-diff", "--no-textconv", "--numstat", "-z", "-M", base, "--"], in: root)
        let names = git.run(["diff", "--no-ext-diff", "--no-textconv", "--name-status", "-z", "-M", base, "--"], in: root)
        guard numstat.ok, names.ok else {
            throw AmarreError(.internalError, detail: "git diff failed: " + Self.firstLines(numstat.errorText + names.errorText))
        }
        var files: [String: ChangedFile] = [:]
        // --name-status -z: "M\0path\0", "R100\0old\0new\0".
        var fields = names.output.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }[...]
        while let code = fields.popFirst(), !code.isEmpty {
            let letter = code.first!
            if letter == "R" || letter == "C", let old = fields.popFirst(), let new = fields.popFirst() {
                files[new] = ChangedFile(path: new, status: letter == "R" ? "renamed" : "added", oldPath: old, added: 0, removed: 0, binary: false)
            } else if let path = fields.popFirst() {
                let status = letter == "A" ? "added" : letter == "D" ? "deleted" : "modified"
                files[path] = ChangedFile(path: path, status: status, added: 0, removed: 0, binary: false)
            }
        }
        // --numstat -z: "a\tr\tpath\0", renames "a\tr\t\0old\0new\0"; binary files "-\t-\t".
        var stats = numstat.output.split(separator: 0, omittingEmptySubsequences: false)[...]
        while let head = stats.popFirst(), !head.isEmpty {
            let parts = head.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            var path = String(decoding: parts[2], as: UTF8.self)
            if path.isEmpty {
                _ = stats.popFirst()
                path = stats.popFirst().map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
            guard var file = files[path] else { continue }
            let a = String(decoding: parts[0], as: UTF8.self)
            let r = String(decoding: parts[1], as: UTF8.self)
            file.binary = a == "-"
            file.added = Int(a) ?? 0
            file.removed = Int(r) ?? 0
            files[path] = file
        }
        // Untracked files that are not ignored: added, every line counted.
        let untracked = git.run(["ls-files", "--others", "--exclude-standard", "-z"], in: root)
        var budget = Self.untrackedBudgetBytes
        for raw in untracked.output.split(separator: 0).prefix(Self.maxUntrackedFiles) {
            let path = String(decoding: raw, as: UTF8.self)
            let (lines, binary) = Self.countLines(root + "/" + path, budget: &budget)
            files[path] = ChangedFile(path: path, status: "added", added: binary ? 0 : lines, removed: 0, binary: binary)
        }
        return ChangesBody(root: root, base: base, baseRef: ref, files: files.values.sorted { $0.path < $1.path })
    }

    /// The unified diff of one changed file, at most `AMARRE_DIFF_MAX_BYTES`.
    func diff(cwd: String, worktree: WorktreeInfo?, path: String) throws(AmarreError) -> DiffBody {
        let listing = try changes(cwd: cwd, worktree: worktree)
        guard let file = listing.files.first(where: { $0.path == path }) else {
            throw AmarreError(.notFound, detail: "\(path) has no changes")
        }
        let (root, base, _) = (listing.root, listing.base, listing.baseRef)
        let limit = configuration.diffMaxBytes
        let tracked = git.run(["ls-files", "--error-unmatch", "--", path], in: root).ok || file.status != "added"
            || git.run(["cat-file", "-e", base + ":" + path], in: root).ok
        let run: Git.Result
        if tracked {
            run = git.run(
                ["diff", "--no-ext-diff", "--no-textconv", "-M", base, "--"] + [file.oldPath, path].compactMap { $0 }, in: root,
                maxOutput: limit + 1)
        } else {
            run = git.run(["diff", "--no-ext-diff", "--no-textconv", "--no-index", "--", "/dev/null", path], in: root, maxOutput: limit + 1)
        }
        var bytes = run.output
        var truncated = run.truncated || bytes.count > limit
        if truncated {
            bytes = Array(bytes.prefix(limit))
            if let lastNewline = bytes.lastIndex(of: 0x0A) { bytes.removeSubrange((lastNewline + 1)...) }
            truncated = true
        }
        return DiffBody(path: path, status: file.status, diff: String(decoding: bytes, as: UTF8.self), truncated: truncated, binary: file.binary)
    }

    /// Untracked files looked at, and bytes read of them in all, per answer.
    static let maxUntrackedFiles = 5000
    static let untrackedBudgetBytes = 64 << 20

    /// Lines of a regular file (a last line without newline counts), and whether it is binary (a
    /// NUL in its first 8 KiB); symlinks, FIFOs and devices are never opened; at most
    /// `untrackedReadBytes` of it, and of `budget`, are read.
    static func countLines(_ path: String, budget: inout Int) -> (Int, Bool) {
        var info = stat()
        guard budget > 0, lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return (0, false) }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return (0, false) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let data = (try? handle.read(upToCount: min(untrackedReadBytes, budget))) ?? Data()
        budget -= data.count
        if data.prefix(8 << 10).contains(0) { return (0, true) }
        var lines = data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        if let last = data.last, last != 0x0A { lines += 1 }
        return (lines, false)
    }
}
