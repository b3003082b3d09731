import AmarreCore
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
        try PrivateFile.write(Array(try encoder.encode(table)), to: path)
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
