public import AmarreCore

/// Why a REST request failed: the protocol error, plus the `Allow` list of a 405.
///
/// Handlers throw it; it becomes an HTTP answer only in `HTTPResponse.init(failure:)`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var error: AmarreError
    /// Methods the resource takes, for the `Allow` header of `method_not_allowed`.
    public var allowedMethods: [HTTPMethod]

    public init(_ error: AmarreError, allowedMethods: [HTTPMethod] = []) {
        self.error = error
        self.allowedMethods = allowedMethods
    }

    public init(_ code: AmarreError.Code) {
        self.init(AmarreError(code))
    }

    public static func methodNotAllowed(allowed: [HTTPMethod]) -> APIError {
        APIError(AmarreError(.methodNotAllowed), allowedMethods: allowed)
    }

    public var description: String { error.description }
}
