/// A JSON value as the adapters (and amarre-demo-agent) read and write it.
///
/// Objects keep their members in the order they were read or written, and numbers keep their
/// exact text, so a value that is only passed along (a tool's input sent back to claude as
/// `updatedInput`, a tool call's arguments shown to clients) comes out as it went in.
///
/// Literals build values directly: `let record: JSONValue = ["type": "agent_start"]`. There is
/// deliberately no `nil` literal (it would turn `cond ? value : nil` into `.null`): write `.null`.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's JSON text, e.g. `12`, `-0.5`, `1e3`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in order.
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }
}

extension JSONValue {
    /// The member named `key`, when this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        if let i = Int(text) { return i }
        if let d = Double(text), d.isFinite, d == d.rounded(), abs(d) < 9.0e15 { return Int(d) }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    public var isNull: Bool { self == .null }

    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A finite double as the shortest text that reads back to it; JSON has no NaN or infinity.
    public static func double(_ value: Double) -> JSONValue { value.isFinite ? .number("\(value)") : .null }

    /// An object built from `members` in order, skipping the ones whose value is `nil`.
    public static func object(dropping members: KeyValuePairs<String, JSONValue?>) -> JSONValue {
        .object(members.compactMap { member in member.value.map { Member(key: member.key, value: $0) } })
    }

    /// This object with `value` set under `key`: replaced in place if present, appended otherwise.
    public func setting(_ key: String, to value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append(Member(key: key, value: value))
        }
        return .object(members)
    }
}

extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByStringInterpolation, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Keeps the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { Member(key: $0.0, value: $0.1) })
    }
}
