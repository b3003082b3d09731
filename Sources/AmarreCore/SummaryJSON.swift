import AmarreJSON
import Foundation

/// Session summaries as the JSON text of the REST answer (one object, or an array).
///
/// The host writes it once, by hand (no Foundation encoder on the hot path); amarre-api
/// answers it as it is, without decoding it. `decode` is there for tests and tools.
public struct SummaryJSON: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(raw bytes: [UInt8]) { self.bytes = bytes }

    public init(_ summary: SessionSummary) {
        var out = [UInt8]()
        out.reserveCapacity(256)
        summary.writeJSON(into: &out)
        bytes = out
    }

    public init(_ summaries: [SessionSummary]) {
        var out = [UInt8]()
        out.reserveCapacity(16 + summaries.count * 256)
        out.append(UInt8(ascii: "["))
        for (i, s) in summaries.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            s.writeJSON(into: &out)
        }
        out.append(UInt8(ascii: "]"))
        bytes = out
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

extension SessionSummary {
    /// Appends this summary as a JSON object; absent fields are omitted.
    public func writeJSON(into out: inout [UInt8]) {
        func key(_ k: String) { out.append(contentsOf: ",\"\(k)\":".utf8) }
        func string(_ s: String) { out.append(contentsOf: JSONText.quote(s).utf8) }
        out.append(contentsOf: #"{"id":"#.utf8)
        string(id.rawValue)
        if let name { key("name"); string(name) }
        key("instanceId"); string(instanceId)
        key("status"); string(status.rawValue)
        key("agent"); string(agent)
        key("spawnedAt"); out.append(contentsOf: String(spawnedAt).utf8)
        key("clients"); out.append(contentsOf: String(clients).utf8)
        if let exitCode { key("exitCode"); out.append(contentsOf: String(exitCode).utf8) }
        if let signal { key("signal"); string(signal) }
        if let cwd { key("cwd"); string(cwd) }
        if let createdAt { key("createdAt"); out.append(contentsOf: String(createdAt).utf8) }
        if let lastSeq { key("lastSeq"); out.append(contentsOf: String(lastSeq).utf8) }
        if let pendingRequests {
            key("pendingRequests")
            out.append(UInt8(ascii: "["))
            for (i, p) in pendingRequests.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(p)
            }
            out.append(UInt8(ascii: "]"))
        }
        if let worktree {
            key("worktree")
            out.append(contentsOf: #"{"repo":"#.utf8)
            string(worktree.repo)
            key("branch"); string(worktree.branch)
            key("base"); string(worktree.base)
            key("path"); string(worktree.path)
            if let ref = worktree.baseRef { key("baseRef"); string(ref) }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
    }
}

extension SummaryJSON: Codable {
    // `ControlProtocol` writes summaries raw; this string form exists for other encoders.
    public init(from decoder: any Decoder) throws {
        bytes = Array(try decoder.singleValueContainer().decode(String.self).utf8)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
