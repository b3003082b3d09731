public import AmarreCore

/// One paired browser or bearer token as stored: its public description and the hash of
/// its secret.
public struct StoredCredential: Sendable, Codable, Equatable {
    public var info: DeviceInfo
    /// Hex SHA-256 of the token's secret.
    public var secretHash: String

    public init(info: DeviceInfo, secretHash: String) {
        self.info = info
        self.secretHash = secretHash
    }
}

/// Every credential the host has issued and not revoked.
public struct CredentialTable: Sendable, Codable, Equatable {
    /// Format version of the file.
    public var version = 1
    public var credentials: [String: StoredCredential] = [:]

    public init(credentials: [String: StoredCredential] = [:]) {
        self.credentials = credentials
    }

    /// The credential `token` proves, if any: looked up by its public id, its secret's hash
    /// compared in constant time.
    public func verify(_ token: DeviceToken) -> StoredCredential? {
        guard let stored = credentials[token.id], let expected = Secrets.unhex(stored.secretHash) else { return nil }
        return Secrets.constantTimeEqual(Secrets.sha256(token.secret), expected) ? stored : nil
    }

    /// Issues a credential for a new device and returns its token (shown once).
    public mutating func issue(name: String, kind: DeviceInfo.Kind, now: Int64) -> DeviceToken {
        var token = DeviceToken.generate()
        while credentials[token.id] != nil { token = DeviceToken.generate() }
        credentials[token.id] = StoredCredential(
            info: DeviceInfo(id: token.id, name: name, kind: kind, createdAt: now), secretHash: token.secretHash)
        return token
    }

    /// Devices in the order they were made.
    public var devices: [DeviceInfo] {
        credentials.values.map(\.info).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }
}
