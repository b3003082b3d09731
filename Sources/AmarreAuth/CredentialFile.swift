public import AmarreCore
import Foundation

/// The credential table on disk: `devices.json` in the state directory, mode 0600,
/// replaced atomically (write a temporary file, fsync, rename), so a reader sees the old
/// table or the new one, never half of one. The host writes it; amarre-api reads it and
/// notices a new version by its inode, size and modification time (`FileStamp`).
public enum CredentialFile {
    /// Reads the table; a missing file is an empty table.
    public static func load(_ path: String) throws -> CredentialTable {
        guard let data = FileManager.default.contents(atPath: path) else { return CredentialTable() }
        return try JSONDecoder().decode(CredentialTable.self, from: data)
    }

    public static func save(_ table: CredentialTable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(table)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw POSIXError(errno, "open \(temporary)") }
        defer { close(fd) }
        // An old file of another mode (made before this version) is tightened too.
        guard fchmod(fd, 0o600) == 0 else { throw POSIXError(errno, "chmod \(temporary)") }
        var written = 0
        while written < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + written, data.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXError(errno, "write \(temporary)")
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw POSIXError(errno, "fsync \(temporary)") }
        guard rename(temporary, path) == 0 else { throw POSIXError(errno, "rename \(temporary)") }
    }

    /// `Error` with the failing call and the system's reason.
    public struct POSIXError: Error, CustomStringConvertible {
        public var code: Int32
        public var what: String
        init(_ code: Int32, _ what: String) {
            self.code = code
            self.what = what
        }
        public var description: String { "\(what): \(String(cString: strerror(code)))" }
    }
}

/// Identifies one version of a file without reading it.
public struct FileStamp: Sendable, Equatable {
    var inode: UInt64
    var size: Int64
    var seconds: Int
    var nanoseconds: Int

    /// nil when the file does not exist (or cannot be looked at).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }
}
