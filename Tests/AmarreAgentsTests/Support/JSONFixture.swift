@testable import AmarreAgents
import AmarreJSON
import Testing

/// JSON compared by meaning: objects without regard to member order, numbers by value.
enum JSONFixture {
    /// Parses `text` into its canonical form; fails the test when it is not JSON.
    static func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        try parse(Array(text.utf8), sourceLocation: sourceLocation)
    }

    static func parse(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        let value = try #require(
            JSONValue.parse(bytes), "not JSON: \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        return canonical(value)
    }

    /// Members sorted by key, numbers written the way `Double` prints them.
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(
                members.map { JSONValue.Member(key: $0.key, value: canonical($0.value)) }.sorted { $0.key < $1.key })
        case .array(let elements):
            return .array(elements.map(canonical))
        case .number(let text):
            return .number(Double(text).map { "\($0)" } ?? text)
        default:
            return value
        }
    }
}

/// The records an adapter returned, parsed.
struct ParsedOutput {
    var clients: [JSONValue]
    var agent: [JSONValue]

    init(_ output: AdapterOutput) throws {
        clients = try output.toClients.map { try JSONFixture.parse($0) }
        agent = try output.toAgent.map { try JSONFixture.parse($0) }
    }

    /// The `type` of each client record, in order.
    var clientTypes: [String] { clients.map { $0["type"]?.stringValue ?? "?" } }

    /// Client records of one `type`.
    func clients(_ type: String) -> [JSONValue] { clients.filter { $0["type"]?.stringValue == type } }

    /// The `assistantMessageEvent.type` of each `message_update`, in order.
    var assistantEvents: [String] {
        clients("message_update").compactMap { $0["assistantMessageEvent"]?["type"]?.stringValue }
    }
}
