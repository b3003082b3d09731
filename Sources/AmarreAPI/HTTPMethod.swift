/// An HTTP request method, compared by its exact name as the client sent it.
///
/// Extensible like a `String` enum: an unknown method is a value too, so routing can answer
/// it with 405 and the `Allow` list instead of failing to parse the request.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let patch = HTTPMethod(rawValue: "PATCH")

    /// GET and HEAD change nothing; every other method is state-changing and goes through
    /// the origin check.
    public var isSafe: Bool { self == .get || self == .head }

    public var description: String { rawValue }
}
