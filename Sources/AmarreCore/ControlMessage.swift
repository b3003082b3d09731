import AmarreJSON
import Foundation

/// Body of `POST /sessions`, after validation.
public struct CreateSessionRequest: Sendable, Codable, Equatable {
    /// Longest `name`, in characters (grapheme clusters).
    public static let maxNameCharacters = 200
    /// Longest `cwd`, in bytes (Linux's PATH_MAX).
    public static let maxCwdBytes = 4096
    /// Most `env` entries, and most bytes of names and values together.
    public static let maxEnvEntries = 256
    public static let maxEnvBytes = 64 << 10

    public var instanceId: String?
    public var name: String?
    public var cwd: String?
    public var env: [String: String]?
    /// `"worktree": {"repo","branch"?,"base"?}` as the client asked.
    public var worktree: WorktreeSpec?
    /// The worktree amarre-api made or reused for it (never read from a client's body).
    public var worktreeInfo: WorktreeInfo?
    /// The id amarre-api named the worktree's branch after; the host uses it when it is free.
    public var proposedId: SessionID?

    public init(
        instanceId: String? = nil, name: String? = nil, cwd: String? = nil, env: [String: String]? = nil,
        worktree: WorktreeSpec? = nil, worktreeInfo: WorktreeInfo? = nil
    ) {
        self.instanceId = instanceId
        self.name = name
        self.cwd = cwd
        self.env = env
        self.worktree = worktree
        self.worktreeInfo = worktreeInfo
    }

    /// Strict parse of a request body: empty means `{}`; anything that is not a JSON object,
    /// or a field of the wrong type, is a `bad_request` that says what is wrong.
    public static func parse(body: [UInt8]) throws(AmarreError) -> CreateSessionRequest {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return CreateSessionRequest() }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw .badRequest("body is not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw .badRequest("body must be a JSON object") }
        func string(_ key: String) throws(AmarreError) -> String? {
            guard let v = dict[key], !(v is NSNull) else { return nil }
            guard let s = v as? String else { throw .badRequest("\"\(key)\" must be a string") }
            return s
        }
        var request = CreateSessionRequest()
        request.instanceId = try string("instanceId")
        request.name = try string("name")
        request.cwd = try string("cwd")
        if let name = request.name, name.count > maxNameCharacters {
            throw .badRequest("\"name\" is longer than \(maxNameCharacters) characters")
        }
        if let cwd = request.cwd, !cwd.hasPrefix("/") || cwd.utf8.contains(0) {
            throw .badRequest("\"cwd\" must be an absolute path without NUL bytes")
        }
        if let cwd = request.cwd, cwd.utf8.count > maxCwdBytes {
            throw .badRequest("\"cwd\" is longer than \(maxCwdBytes) bytes")
        }
        if let env = dict["env"], !(env is NSNull) {
            guard let e = env as? [String: Any] else { throw .badRequest("\"env\" must be an object of strings") }
            guard e.count <= maxEnvEntries else {
                throw .badRequest("\"env\" has \(e.count) entries; at most \(maxEnvEntries) are taken")
            }
            var out = [String: String]()
            var bytes = 0
            for (k, v) in e {
                guard let s = v as? String, !(v is NSNumber) else {
                    throw .badRequest("\"env.\(k)\" must be a string")
                }
                guard !k.isEmpty, !k.contains("="), !k.utf8.contains(0), !s.utf8.contains(0) else {
                    throw .badRequest("\"env\" has an invalid variable name \"\(k)\"")
                }
                bytes += k.utf8.count + s.utf8.count
                guard bytes <= maxEnvBytes else {
                    throw .badRequest("\"env\" is larger than \(maxEnvBytes) bytes")
                }
                out[k] = s
            }
            request.env = out
        }
        if let spec = dict["worktree"], !(spec is NSNull) {
            guard let w = spec as? [String: Any], let repo = w["repo"] as? String else {
                throw .badRequest("\"worktree\" must be {\"repo\":\"/abs/path\",\"branch\"?,\"base\"?}")
            }
            func field(_ key: String) throws(AmarreError) -> String? {
                guard let v = w[key], !(v is NSNull) else { return nil }
                guard let s = v as? String, !s.isEmpty, s.utf8.count <= 255, !s.utf8.contains(0) else {
                    throw .badRequest("\"worktree.\(key)\" must be a non-empty string of at most 255 bytes")
                }
                return s
            }
            guard repo.hasPrefix("/"), !repo.utf8.contains(0), repo.utf8.count <= maxCwdBytes else {
                throw .badRequest("\"worktree.repo\" must be an absolute path")
            }
            guard request.cwd == nil else { throw .badRequest("give either \"cwd\" or \"worktree\": the worktree is the cwd") }
            request.worktree = WorktreeSpec(repo: repo, branch: try field("branch"), base: try field("base"))
        }
        return request
    }
}

/// `POST /sessions`'s `"worktree"`: a repository and, optionally, the branch and its base.
public struct WorktreeSpec: Sendable, Codable, Equatable {
    public var repo: String
    public var branch: String?
    public var base: String?

    public init(repo: String, branch: String? = nil, base: String? = nil) {
        self.repo = repo
        self.branch = branch
        self.base = base
    }
}

/// Health of the session host, as `GET /healthz` reports it.
public struct HostHealth: Sendable, Codable, Equatable {
    public var sessions: Int
    public var running: Int
    public var version: String
    public init(sessions: Int, running: Int, version: String) {
        self.sessions = sessions
        self.running = running
        self.version = version
    }
}

/// A request from amarre-api to amarre-host over the control socket.
///
/// Framing: one JSON document per line, at most `ControlProtocol.maxMessageBytes`; the host
/// answers each request with exactly one `ControlResponse` line, in order.
public enum ControlRequest: Sendable, Codable, Equatable {
    case health
    case listInstances
    case listSessions
    case createSession(CreateSessionRequest)
    case getSession(SessionID)
    case deleteSession(SessionID)
    case restartSession(SessionID)
    /// `GET /sessions?status=…`.
    case listSessionsWithStatus(SessionStatus)
    /// `POST /sessions/<id>/stop`: the agent stopped, the session and its history kept.
    case stopSession(SessionID)
    /// `PATCH /sessions/<id>` `{"name"}`; nil or "" removes the name.
    case renameSession(SessionID, name: String?)
    /// Whether a deleted session's agent is still stopping (amarre-api waits for it before it
    /// removes the session's worktree).
    case sessionStopping(SessionID)

    // Access control. Only the owner (whoever can open the 0600 control socket) sends
    // `pairCreate`, `tokenCreate`, `listDevices` and `revokeDevice`; amarre-api sends
    // `pairRedeem`, `touchDevice` and `revokeDevice` (logout of the calling device) on
    // behalf of requests it has authenticated (or, for `pairRedeem`, rate-limits).
    case pairCreate(name: String?)
    case pairRedeem(code: String, name: String?, address: String)
    case tokenCreate(name: String)
    case listDevices
    case revokeDevice(id: String)
    case touchDevice(id: String)

    // Notifications (all sent by amarre-api for authenticated requests). `deviceId` is the
    // calling device (nil without access control).
    case pushVapid
    case pushSubscribe(json: String, deviceId: String?)
    case pushUnsubscribe(endpoint: String)
    case pushTest(deviceId: String?)
    case pushTokens
    case pushAddToken(token: String, deviceId: String?)
    case pushRemoveToken(token: String)
    /// `POST /sessions/<id>/requests/<requestId>`: answers an open question through the same
    /// ledger as a WebSocket client's `extension_ui_response`.
    case answerRequest(session: SessionID, requestId: String, answer: RequestAnswer)
    /// `POST /sessions/<id>/prompt`: written to the agent as a client's command would be.
    case sendPrompt(session: SessionID, prompt: PromptRequest)
    /// `POST /sessions/<id>/abort`: a client's `{"type":"abort"}`.
    case abortRun(session: SessionID)
    /// `GET /sessions/<id>/requests`: the questions open now.
    case openRequests(session: SessionID)
    /// `GET /metrics`: the host's series, Prometheus text format.
    case metrics
    /// A request carrying the id nginx gave the HTTP request that caused it (`X-Request-Id`),
    /// logged by the host with what it does for it.
    indirect case traced(requestId: String, request: ControlRequest)
}

/// An answer to an agent's question (`extension_ui_response` without its type and id).
public enum RequestAnswer: Sendable, Codable, Equatable {
    case confirmed(Bool)
    case value(String)
    case cancelled
    /// `{"confirmed":true,"scope":"session"}`: allowed, and the tool for the rest of the session.
    case allowedForSession

    /// Longest `value` taken.
    public static let maxValueBytes = 64 << 10

    /// `{"confirmed":true|false}`, `{"confirmed":true,"scope":"session"}`, `{"value":"…"}` or
    /// `{"cancelled":true}`; anything else is a `bad_request` that says what is expected.
    public static func parse(body: [UInt8]) throws(AmarreError) -> RequestAnswer {
        do {
            let parsed = try JSONDecoder().decode(AnswerBody.self, from: Data(body)).answer
            if case .value(let text) = parsed, text.utf8.count > maxValueBytes {
                throw AmarreError.badRequest("\"value\" is longer than \(maxValueBytes) bytes")
            }
            return parsed
        } catch let error as AmarreError {
            throw error
        } catch {
            throw .badRequest(
                "body must be {\"confirmed\":true|false}, {\"confirmed\":true,\"scope\":\"session\"}, {\"value\":\"…\"} or {\"cancelled\":true}")
        }
    }

    /// Exactly one member, of the right JSON type (a JSON number is not a boolean).
    private struct AnswerBody: Decodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        struct Unexpected: Error {}
        var answer: RequestAnswer

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            let scope = Key(stringValue: "scope"), confirmed = Key(stringValue: "confirmed")
            if c.allKeys.count == 2, c.contains(scope), c.contains(confirmed) {
                guard try c.decode(String.self, forKey: scope) == "session", try c.decode(Bool.self, forKey: confirmed)
                else { throw Unexpected() }
                answer = .allowedForSession
                return
            }
            guard c.allKeys.count == 1, let key = c.allKeys.first else { throw Unexpected() }
            switch key.stringValue {
            case "confirmed": answer = .confirmed(try c.decode(Bool.self, forKey: key))
            case "value": answer = .value(try c.decode(String.self, forKey: key))
            case "cancelled" where try c.decode(Bool.self, forKey: key): answer = .cancelled
            default: throw Unexpected()
            }
        }
    }

    /// The answer's members, as they follow `"type"` and `"id"` in an `extension_ui_response`.
    public var jsonMembers: String {
        switch self {
        case .confirmed(let yes): #""confirmed":\#(yes)"#
        case .value(let text): #""value":"# + JSONText.quote(text)
        case .cancelled: #""cancelled":true"#
        case .allowedForSession: #""confirmed":true,"scope":"session""#
        }
    }
}

/// A paired browser or a bearer token, as `amarre devices` lists it (never its secret).
public struct DeviceInfo: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case browser, token }
    public var id: String
    public var name: String
    public var kind: Kind
    /// Epoch milliseconds, like session summaries.
    public var createdAt: Int64
    public var lastSeenAt: Int64?

    public init(id: String, name: String, kind: Kind, createdAt: Int64, lastSeenAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.kind = kind
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

public enum ControlResponse: Sendable, Codable, Equatable {
    case health(HostHealth)
    case instances([InstanceInfo])
    /// The summaries of `listSessions`, as the JSON array the REST answer carries.
    case sessionsJSON(SummaryJSON)
    /// One summary, as the JSON object the REST answer carries.
    case sessionJSON(SummaryJSON)
    case deleted
    case failure(AmarreError)
    /// A one-time pairing code (`pairCreate`).
    case pairingCode(code: String, expiresInSeconds: Int)
    /// A new credential, shown once (`tokenCreate`, `pairRedeem`).
    case deviceToken(id: String, name: String, token: String)
    case devices(list: [DeviceInfo])
    case revoked
    case touched
    case pushVapid(publicKey: String)
    case pushSubscribed(endpoint: String)
    case pushTested(sent: Int)
    case pushTokens(list: [String])
    case pushToken(token: String)
    case answered(id: String)
    case stopping(Bool)
    /// A prompt or an abort was written; the records it causes have `_seq > afterSeq`.
    case accepted(afterSeq: Int64)
    /// The open questions' records, as published (`_seq` included).
    case requests(records: [String])
    /// Prometheus text format.
    case metricsText(String)

    public static func sessions(_ summaries: [SessionSummary]) -> ControlResponse { .sessionsJSON(SummaryJSON(summaries)) }
    public static func session(_ summary: SessionSummary) -> ControlResponse { .sessionJSON(SummaryJSON(summary)) }
}

public enum ControlProtocol {
    /// Longest control message, either direction (a prompt with its images is up to 16 MiB of
    /// JSON, `PromptRequest.maxBodyBytes`).
    public static let maxMessageBytes = 24 << 20
    /// Protocol version reported by `/healthz` and `amarre.hello`.
    public static let version = "2.4.0"

    /// One message as a line. Summaries and the frequent argument-less requests are written
    /// by hand: they are the control plane's hot path.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        var bytes: [UInt8]
        switch value {
        case let response as ControlResponse:
            switch response {
            case .sessionsJSON(let json): bytes = Array(sessionsPrefix) + json.bytes + [UInt8(ascii: "}")]
            case .sessionJSON(let json): bytes = Array(sessionPrefix) + json.bytes + [UInt8(ascii: "}")]
            default: bytes = Array(try JSONEncoder().encode(value))
            }
        case let request as ControlRequest:
            switch request {
            case .listSessions: bytes = Array(listSessionsLine)
            case .health: bytes = Array(healthLine)
            default: bytes = Array(try JSONEncoder().encode(value))
            }
        default:
            bytes = Array(try JSONEncoder().encode(value))
        }
        bytes.append(0x0A)
        return bytes
    }

    /// One request line (without its newline), as the host reads it.
    public static func decode(_ type: ControlRequest.Type, from line: some Collection<UInt8>) throws -> ControlRequest {
        if line.elementsEqual(listSessionsLine) { return .listSessions }
        if line.elementsEqual(healthLine) { return .health }
        return try JSONDecoder().decode(ControlRequest.self, from: Data(line))
    }

    /// One response line (without its newline), as amarre-api reads it.
    public static func decode(_ type: ControlResponse.Type, from line: some Collection<UInt8>) throws -> ControlResponse {
        let bytes = Array(line)
        if bytes.last == UInt8(ascii: "}") {
            // The host wrote the summaries between the prefix and the closing brace.
            if bytes.starts(with: sessionsPrefix) {
                return .sessionsJSON(SummaryJSON(raw: Array(bytes[sessionsPrefix.count..<(bytes.count - 1)])))
            }
            if bytes.starts(with: sessionPrefix) {
                return .sessionJSON(SummaryJSON(raw: Array(bytes[sessionPrefix.count..<(bytes.count - 1)])))
            }
        }
        return try JSONDecoder().decode(ControlResponse.self, from: Data(bytes))
    }

    private static let sessionsPrefix = Array(#"{"sessionsJSON":"#.utf8)
    private static let sessionPrefix = Array(#"{"sessionJSON":"#.utf8)
    private static let listSessionsLine = Array(#"{"listSessions":{}}"#.utf8)
    private static let healthLine = Array(#"{"health":{}}"#.utf8)
}
