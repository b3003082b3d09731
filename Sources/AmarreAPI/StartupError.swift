/// Why the FastCGI server could not start, with a message that names the culprit.
public struct StartupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
