import AmarreCore
import Foundation

/// `GET /sessions/<id>/files?path=<rel>`: a directory's entries or a file's text, inside the
/// session's cwd only — checked on the resolved path (symlinks followed), never on the string.
struct FileBrowser {
    static let maxEntries = 1000
    static let maxTextBytes = 512 << 10
    static let binaryProbeBytes = 8 << 10

    struct Entry: Encodable {
        var name: String
        var type: String
        var size: Int64?
    }

    struct Listing: Encodable {
        var path: String
        var type: String
        var entries: [Entry]?
        var size: Int64?
        var binary: Bool?
        var text: String?
        var truncated: Bool
    }

    static func read(cwd: String, relative: String) throws(AmarreError) -> Listing {
        let forbidden = AmarreError(.forbidden, detail: "outside the session's directory")
        guard !relative.hasPrefix("/"), !relative.utf8.contains(0) else { throw forbidden }
        guard let root = Worktrees.realpath(cwd) else { throw AmarreError(.notFound, detail: "\(cwd) does not exist") }
        // Lexically first: ".." that climbs out is refused even if nothing is there.
        var depth = 0
        for part in relative.split(separator: "/") where part != "." {
            depth += part == ".." ? -1 : 1
            if depth < 0 { throw forbidden }
        }
        let joined = relative.isEmpty ? root : root + "/" + relative
        guard let target = Worktrees.realpath(joined) else {
            throw AmarreError(.notFound, detail: "\(relative) does not exist")
        }
        guard target == root || target.hasPrefix(root == "/" ? "/" : root + "/") else { throw forbidden }
        // The repository's own files are listed as an entry, never opened.
        if target.dropFirst(root.count).split(separator: "/").contains(".git") {
            throw AmarreError(.forbidden, detail: "the repository's .git is not shown")
        }
        var info = stat()
        guard stat(target, &info) == 0 else { throw AmarreError(.notFound, detail: "\(relative) does not exist") }
        let shown = relative.isEmpty ? "" : relative
        if info.st_mode & S_IFMT == S_IFDIR {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
            var entries: [Entry] = names.map { name in
                var entry = stat()
                guard lstat(target + "/" + name, &entry) == 0 else { return Entry(name: name, type: "other") }
                switch entry.st_mode & S_IFMT {
                case S_IFDIR: return Entry(name: name, type: "directory")
                case S_IFREG: return Entry(name: name, type: "file", size: Int64(entry.st_size))
                case S_IFLNK: return Entry(name: name, type: "symlink")
                default: return Entry(name: name, type: "other")
                }
            }
            entries.sort { ($0.type == "directory" ? 0 : 1, $0.name) < ($1.type == "directory" ? 0 : 1, $1.name) }
            let truncated = entries.count > maxEntries
            return Listing(
                path: shown, type: "directory", entries: Array(entries.prefix(maxEntries)), truncated: truncated)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return Listing(path: shown, type: "other", size: Int64(info.st_size), truncated: false)
        }
        // Non-blocking: a "regular" file whose read would wait (procfs: /proc/kmsg) gives nothing
        // instead of holding an API thread.
        let fd = open(target, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw AmarreError(.forbidden, detail: "\(relative) cannot be read") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let data = (try? handle.read(upToCount: maxTextBytes)) ?? Data()
        let binary = data.prefix(binaryProbeBytes).contains(0)
        return Listing(
            path: shown, type: "file", size: Int64(info.st_size), binary: binary,
            text: binary ? nil : String(decoding: data, as: UTF8.self), truncated: Int64(data.count) < Int64(info.st_size))
    }
}
