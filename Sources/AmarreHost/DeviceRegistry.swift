import AmarreAuth
import AmarreCore
import Foundation
import Logging

/// The host's side of access control: the credential table (kept in `devices.json`, which
/// amarre-api reads), pending pairing codes and the pairing attempt limiter.
///
/// Confined to the host's event loop like everything of `SessionHost`. Changes that grant
/// or take away access are written to disk before they are answered, so the API's next
/// request already sees them; `lastSeenAt` alone is written lazily.
final class DeviceRegistry {
    /// Longest device name kept.
    static let maxNameCharacters = 100
    /// How often `lastSeenAt` changes reach the file.
    static let lastSeenWriteDelayMs: Int64 = 30_000

    let mode: AuthMode
    private let path: String
    private let pairTTLMs: Int64
    private let logger: Logger
    private let now: () -> Int64
    private(set) var table: CredentialTable
    private var codes = PairingCodes()
    private var limiter = AttemptLimiter()
    /// `lastSeenAt` changed since the file was written.
    private(set) var lastSeenDirty = false

    init(
        mode: AuthMode, path: String, table: CredentialTable, pairTTLSeconds: Int, logger: Logger,
        now: @escaping () -> Int64 = DeviceRegistry.epochMs
    ) {
        self.mode = mode
        self.path = path
        self.table = table
        self.pairTTLMs = Int64(pairTTLSeconds) * 1000
        self.logger = logger
        self.now = now
    }

    /// The table of `configuration.devicesPath`; start-up stops when the file is unreadable
    /// (rather than start with no devices and lock everyone out silently).
    static func loadTable(_ configuration: AmarreConfiguration) throws(ConfigurationError) -> CredentialTable {
        do {
            return try CredentialFile.load(configuration.devicesPath)
        } catch {
            throw ConfigurationError("cannot read \(configuration.devicesPath): \(error)")
        }
    }

    static func epochMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The access decision for a WebSocket upgrade's headers.
    func decide(authorization: String?, cookie: String?) -> AccessDecision {
        AccessControl.decide(mode: mode, authorization: authorization, cookie: cookie, table: table)
    }

    // MARK: control requests

    func createPairingCode(name: String?) throws(AmarreError) -> ControlResponse {
        try requireTokenMode()
        let code = codes.create(name: name.map(Self.cleanName), now: now(), ttlMs: pairTTLMs)
        logger.info("pairing code made", metadata: ["pair.ttl_s": "\(pairTTLMs / 1000)"])
        return .pairingCode(code: code, expiresInSeconds: Int(pairTTLMs / 1000))
    }

    /// `POST /auth/pair`: a browser proves it was given a code.
    func redeem(code: String, name: String?, address: String) throws(AmarreError) -> ControlResponse {
        try requireTokenMode()
        let t = now()
        if let wait = limiter.blockedFor(address, now: t) {
            logger.notice("pairing attempt refused: too many failures", metadata: ["client.address": "\(address)"])
            throw AmarreError(.tooManyAttempts, retryAfter: Int((wait + 999) / 1000))
        }
        guard let codeName = codes.redeem(code, now: t) else {
            limiter.recordFailure(address, now: t)
            logger.notice("pairing attempt with a wrong or expired code", metadata: ["client.address": "\(address)"])
            throw AmarreError(.invalidCode)
        }
        let deviceName = (name.map(Self.cleanName)).flatMap { $0.isEmpty ? nil : $0 } ?? codeName ?? "browser"
        return try issue(name: deviceName, kind: .browser)
    }

    func createToken(name: String) throws(AmarreError) -> ControlResponse {
        try requireTokenMode()
        let clean = Self.cleanName(name)
        guard !clean.isEmpty else { throw .badRequest("a token needs a name") }
        return try issue(name: clean, kind: .token)
    }

    var devices: [DeviceInfo] { table.devices }

    /// Removes a device; the caller closes its sockets.
    func revoke(_ id: String) throws(AmarreError) {
        guard let removed = table.credentials.removeValue(forKey: id) else {
            throw AmarreError(.notFound, detail: "no device \(id)")
        }
        do {
            try persist()
        } catch {
            table.credentials[id] = removed
            throw error
        }
        logger.info("device revoked", metadata: ["device.id": "\(id)", "device.kind": "\(removed.info.kind.rawValue)"])
    }

    /// Records that a device was seen now; true when the file needs writing later.
    @discardableResult
    func touch(_ id: String) -> Bool {
        guard table.credentials[id] != nil else { return false }
        table.credentials[id]!.info.lastSeenAt = now()  // checked above
        let wasDirty = lastSeenDirty
        lastSeenDirty = true
        return !wasDirty
    }

    /// Writes pending `lastSeenAt` changes, off the loop (nothing waits for them). Changes that
    /// grant or take away access are written before they are answered (`persist`); a write here
    /// carries the whole table as it is now, so an older one never undoes a newer one's content.
    func flushLastSeen() {
        guard lastSeenDirty else { return }
        lastSeenDirty = false
        let (snapshot, path, logger) = (table, self.path, self.logger)
        DeviceRegistry.writer.async {
            do {
                try CredentialFile.save(snapshot, to: path)
            } catch {
                logger.warning("cannot write lastSeenAt of devices", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The one queue every write of the device file goes through, so they land in order.
    static let writer = DispatchQueue(label: "amarre.devices.file")

    // MARK: private

    private func issue(name: String, kind: DeviceInfo.Kind) throws(AmarreError) -> ControlResponse {
        let token = table.issue(name: name, kind: kind, now: now())
        do {
            try persist()
        } catch {
            table.credentials[token.id] = nil
            throw error
        }
        logger.info("device added", metadata: ["device.id": "\(token.id)", "device.kind": "\(kind.rawValue)"])
        return .deviceToken(id: token.id, name: name, token: token.text)
    }

    private func persist() throws(AmarreError) {
        do {
            let (snapshot, path) = (table, self.path)
            // Through the writer queue (after any lastSeen write still queued), and waited for.
            try DeviceRegistry.writer.sync { try CredentialFile.save(snapshot, to: path) }
            lastSeenDirty = false
        } catch {
            logger.error("cannot write the device file", metadata: ["path": "\(path)", "error": "\(error)"])
            throw AmarreError(.internalError, detail: "cannot write the device file")
        }
    }

    private func requireTokenMode() throws(AmarreError) {
        guard mode == .token else {
            throw AmarreError(.authDisabled, detail: "access control is off (AMARRE_AUTH=none): no pairing or tokens needed")
        }
    }

    /// One line, no control characters, at most `maxNameCharacters`.
    static func cleanName(_ name: String) -> String {
        let kept = name.unicodeScalars.filter { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }
        var s = String(String.UnicodeScalarView(kept)).trimmingCharacters(in: .whitespaces)
        if s.count > maxNameCharacters { s = String(s.prefix(maxNameCharacters)) }
        return s
    }
}
