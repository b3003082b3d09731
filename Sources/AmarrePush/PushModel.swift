public import AmarreCore
import AmarreAuth
import Foundation

/// What happened, as every channel sends it: the webhook's JSON body and the plaintext of
/// every Web Push message.
public struct PushEvent: Sendable, Codable, Equatable {
    public enum Trigger: String, Sendable, Codable {
        case awaitingInput = "awaiting_input"
        case done
        case crashed
        case test
    }

    public var trigger: Trigger
    public var sessionId: String
    public var sessionName: String
    public var requestId: String?
    public var title: String
    public var body: String
    public var url: String

    public init(
        trigger: Trigger, sessionId: String, sessionName: String, requestId: String? = nil, title: String,
        body: String, url: String
    ) {
        self.trigger = trigger
        self.sessionId = sessionId
        self.sessionName = sessionName
        self.requestId = requestId
        self.title = title
        self.body = body
        self.url = url
    }

    /// Approvals and crashes wake the phone; a finished run can wait.
    public var isUrgent: Bool { trigger == .awaitingInput || trigger == .crashed }

    /// The event's JSON (keys in a fixed order).
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }
}

/// A browser's push subscription (`PushSubscription.toJSON()`), validated.
public struct WebPushSubscription: Sendable, Codable, Equatable {
    public var endpoint: String
    /// base64url of the 65-byte uncompressed P-256 point.
    public var p256dh: String
    /// base64url of the 16-byte auth secret.
    public var auth: String
    /// The paired device that made it (nil without access control).
    public var deviceId: String?
    public var createdAt: Int64

    public init(endpoint: String, p256dh: String, auth: String, deviceId: String?, createdAt: Int64) {
        self.endpoint = endpoint
        self.p256dh = p256dh
        self.auth = auth
        self.deviceId = deviceId
        self.createdAt = createdAt
    }

    /// Longest endpoint URL accepted.
    public static let maxEndpointBytes = 2048

    /// Parses `{"endpoint","expirationTime"?,"keys":{"p256dh","auth"}}`: the endpoint must be
    /// an https URL, or http on a loopback address (a local push relay); the keys must decode
    /// to a P-256 point and a 16-byte secret.
    public static func parse(_ body: [UInt8], deviceId: String?, now: Int64) throws(AmarreError) -> WebPushSubscription {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw .badRequest("body must be a PushSubscription object {\"endpoint\",\"keys\":{\"p256dh\",\"auth\"}}")
        }
        guard let endpoint = object["endpoint"] as? String else { throw .badRequest("\"endpoint\" must be a string") }
        try checkEndpoint(endpoint)
        guard let keys = object["keys"] as? [String: Any], let p256dh = keys["p256dh"] as? String,
            let auth = keys["auth"] as? String
        else { throw .badRequest("\"keys\" must hold the strings \"p256dh\" and \"auth\"") }
        guard let point = Secrets.base64urlDecode(p256dh), point.count == 65, point.first == 4 else {
            throw .badRequest("\"keys.p256dh\" must be a base64url uncompressed P-256 point (65 bytes)")
        }
        guard let secret = Secrets.base64urlDecode(auth), secret.count == 16 else {
            throw .badRequest("\"keys.auth\" must be 16 bytes in base64url")
        }
        return WebPushSubscription(
            endpoint: endpoint, p256dh: Secrets.base64url(point), auth: Secrets.base64url(secret), deviceId: deviceId,
            createdAt: now)
    }

    /// https anywhere; http only to a loopback address.
    public static func checkEndpoint(_ endpoint: String) throws(AmarreError) {
        guard endpoint.utf8.count <= maxEndpointBytes, let url = URL(string: endpoint), let host = url.host,
            !host.isEmpty, let scheme = url.scheme?.lowercased()
        else { throw .badRequest("\"endpoint\" must be an absolute URL") }
        switch scheme {
        case "https": return
        case "http" where isLoopback(host): return
        default: throw .badRequest("\"endpoint\" must be https (or http on a loopback address)")
        }
    }

    /// `localhost`, `::1`, or an IPv4 literal in 127.0.0.0/8 (not a name that starts with "127.").
    static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if h == "localhost" || h == "::1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) && UInt8($0) != nil })
        else { return false }
        return octets[0] == "127"
    }

    /// `scheme://host[:port]` of the endpoint: the VAPID audience.
    public var audience: String? {
        guard let url = URL(string: endpoint), let scheme = url.scheme, let host = url.host else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return scheme + "://" + bracketed + (url.port.map { ":\($0)" } ?? "")
    }
}

/// Expo push tokens of the original's app: `ExponentPushToken[…]` or `ExpoPushToken[…]`.
public enum ExpoToken {
    public static let maxBytes = 256

    public static func isValid(_ token: String) -> Bool {
        guard token.utf8.count <= maxBytes, token.hasSuffix("]") else { return false }
        for prefix in ["ExponentPushToken[", "ExpoPushToken["] where token.hasPrefix(prefix) {
            let inner = token.dropFirst(prefix.count).dropLast()
            return !inner.isEmpty && inner.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0 != "[" && $0 != "]" }
        }
        return false
    }
}

/// Everything the host keeps for notifications across restarts: `push.json` (0600).
public struct PushRegistry: Sendable, Codable, Equatable {
    public struct Token: Sendable, Codable, Equatable {
        public var token: String
        public var deviceId: String?
        public var createdAt: Int64
    }

    public var version = 1
    public var subscriptions: [WebPushSubscription] = []
    public var expoTokens: [Token] = []
    /// `<session>/<request>` of approvals already notified, so a restart does not repeat them
    /// (the newest `maxNotified`).
    public var notified: [String] = []

    /// Subscriptions and tokens kept at most (the oldest go first past it).
    public static let maxSubscriptions = 256
    public static let maxNotified = 1024

    public init() {}

    public mutating func add(_ subscription: WebPushSubscription) {
        subscriptions.removeAll { $0.endpoint == subscription.endpoint }
        subscriptions.append(subscription)
        if subscriptions.count > Self.maxSubscriptions { subscriptions.removeFirst(subscriptions.count - Self.maxSubscriptions) }
    }

    public mutating func add(token: String, deviceId: String?, now: Int64) {
        expoTokens.removeAll { $0.token == token }
        expoTokens.append(Token(token: token, deviceId: deviceId, createdAt: now))
        if expoTokens.count > Self.maxSubscriptions { expoTokens.removeFirst(expoTokens.count - Self.maxSubscriptions) }
    }

    /// Forgets everything a revoked device registered.
    public mutating func removeDevice(_ id: String) -> Bool {
        let before = subscriptions.count + expoTokens.count
        subscriptions.removeAll { $0.deviceId == id }
        expoTokens.removeAll { $0.deviceId == id }
        return subscriptions.count + expoTokens.count != before
    }

    public mutating func markNotified(_ key: String) {
        notified.append(key)
        if notified.count > Self.maxNotified { notified.removeFirst(notified.count - Self.maxNotified) }
    }

    public static func load(_ path: String) throws -> PushRegistry {
        guard let data = FileManager.default.contents(atPath: path) else { return PushRegistry() }
        return try JSONDecoder().decode(PushRegistry.self, from: data)
    }

    public func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try PrivateFile.write(Array(try encoder.encode(self)), to: path)
    }
}
