public import AmarreAuth
public import AmarreCore
public import Logging

/// amarre-api's view of the credential table: `devices.json`, which the host writes
/// atomically, re-read whenever its stamp (inode, size, mtime) changes — one `stat` per
/// request, so a revocation holds from the very next request.
public final class Authenticator: Sendable {
    /// How often one device's use is reported to the host (`lastSeenAt`) and its cookie
    /// re-sent with a fresh lifetime.
    public static let touchInterval: Duration = .seconds(60)
    /// Devices whose last report is remembered; the map is emptied past this.
    static let maxTouched = 4096

    public let mode: AuthMode
    public let path: String
    private let logger: Logger
    private let cache = ReadMostly<(stamp: FileStamp?, table: CredentialTable)>((nil, CredentialTable()))
    private let touched = ReadMostly<[String: ContinuousClock.Instant]>([:])

    public init(mode: AuthMode, path: String, logger: Logger) {
        self.mode = mode
        self.path = path
        self.logger = logger
    }

    /// The access decision for a request (`AccessControl.decide` on the current table).
    public func decide(_ request: HTTPRequest) -> AccessDecision {
        guard mode == .token else { return .open }
        return AccessControl.decide(mode: mode, authorization: request.authorization, cookie: request.cookie, table: table())
    }

    /// The current table; re-read when the file changed.
    public func table() -> CredentialTable {
        let stamp = FileStamp(path: path)
        if stamp != nil, let table = cache.read({ $0.stamp == stamp ? $0.table : nil }) { return table }
        return cache.write { cache in
            if cache.stamp == stamp, stamp != nil { return cache.table }
            guard stamp != nil else {
                cache = (nil, CredentialTable())
                return cache.table
            }
            do {
                cache = (stamp, try CredentialFile.load(path))
            } catch {
                // Nothing gets in on a table that cannot be read; the host rewrites it on the next change.
                logger.error("cannot read the device file; refusing every credential", metadata: ["path": "\(path)", "error": "\(error)"])
                cache = (stamp, CredentialTable())
            }
            return cache.table
        }
    }

    /// True at most once per `touchInterval` per device: time to tell the host and refresh the cookie.
    public func shouldTouch(_ id: String, now: ContinuousClock.Instant = .now) -> Bool {
        if touched.read({ $0[id].map { now - $0 < Authenticator.touchInterval } ?? false }) { return false }
        return touched.write { touched in
            if let last = touched[id], now - last < Authenticator.touchInterval { return false }
            if touched.count >= Authenticator.maxTouched { touched.removeAll() }
            touched[id] = now
            return true
        }
    }
}
