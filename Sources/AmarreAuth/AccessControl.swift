public import AmarreCore

/// What a request's credentials allow.
public enum AccessDecision: Sendable, Equatable {
    /// Access control is off (`AMARRE_AUTH=none`).
    case open
    /// A valid credential of this device.
    case device(DeviceInfo, token: DeviceToken, via: CredentialSource)
    /// No valid credential.
    case denied

    public var isAllowed: Bool { self != .denied }

    /// The authenticated device's id, if any.
    public var deviceID: String? {
        if case .device(let info, _, _) = self { return info.id }
        return nil
    }
}

/// Where a request carried its credential.
public enum CredentialSource: Sendable, Equatable {
    case bearer
    case cookie
}

/// The one access decision, used by amarre-api for every REST request and by amarre-host
/// for every WebSocket upgrade.
public enum AccessControl {
    /// The cookie a paired browser sends.
    public static let cookieName = "amarre_auth"

    /// - Parameters:
    ///   - authorization: the `Authorization` header, if any (`Bearer <token>`).
    ///   - cookie: the `Cookie` header, if any (nginx joins several into one, `; `-separated).
    /// A bearer token, when present, is the only credential looked at: a request that names a
    /// wrong one is refused even if it also carries a good cookie.
    public static func decide(
        mode: AuthMode, authorization: String?, cookie: String?, table: CredentialTable
    ) -> AccessDecision {
        guard mode == .token else { return .open }
        let token: DeviceToken?
        let source: CredentialSource
        if let authorization, !authorization.isEmpty {
            token = bearerToken(authorization)
            source = .bearer
        } else if let cookie, let value = cookieValue(cookie, name: cookieName) {
            token = DeviceToken(text: value)
            source = .cookie
        } else {
            return .denied
        }
        guard let token, let stored = table.verify(token) else { return .denied }
        return .device(stored.info, token: token, via: source)
    }

    /// The token of `Bearer <token>` (scheme case-insensitive, RFC 7235).
    public static func bearerToken(_ header: String) -> DeviceToken? {
        let trimmed = header.drop { $0 == " " || $0 == "\t" }
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let value = trimmed.dropFirst(7).drop { $0 == " " }
        return DeviceToken(text: value.prefix { $0 != " " && $0 != "\t" })
    }

    /// The value of the first cookie named `name` in a `Cookie` header.
    public static func cookieValue(_ header: String, name: String) -> Substring? {
        for pair in header.split(separator: ";") {
            let item = pair.drop { $0 == " " || $0 == "\t" }
            guard let equals = item.firstIndex(of: "=") else { continue }
            if item[..<equals] == name {
                var value = item[item.index(after: equals)...]
                while let last = value.last, last == " " || last == "\t" { value = value.dropLast() }
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
                return value
            }
        }
        return nil
    }

    /// `Set-Cookie` for a paired browser: HttpOnly (scripts never see it), SameSite=Strict (no
    /// other site's page sends it), Path= the base path amarre is served under
    /// (`AMARRE_BASE_PATH`, so another site on the same server never gets it), 400 days
    /// (browsers' cap) and re-sent on use, and Secure when the browser reached the front over HTTPS.
    public static func setCookie(_ token: DeviceToken, secure: Bool, path: String = "/") -> String {
        cookieName + "=" + token.text + "; Path=\(path); Max-Age=\(cookieMaxAgeSeconds); HttpOnly; SameSite=Strict"
            + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that removes the cookie.
    public static func clearCookie(secure: Bool, path: String = "/") -> String {
        cookieName + "=; Path=\(path); Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    public static let cookieMaxAgeSeconds = 400 * 24 * 3600
}
