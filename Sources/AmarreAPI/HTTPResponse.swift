import AmarreCore
import Foundation

/// One REST answer: status, headers and body, written as a CGI response.
public struct HTTPResponse: Sendable, Equatable {
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var status: Int
    public var headers: [Header]
    public var body: [UInt8]

    public init(status: Int, headers: [Header] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer from JSON text.
    public static func json(status: Int, text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [Header("Content-Type", "application/json")], body: Array(text.utf8))
    }

    /// A JSON answer from JSON bytes written elsewhere (the host's summaries, the store's pages).
    public static func json(status: Int, bytes: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [Header("Content-Type", "application/json")], body: bytes)
    }

    /// A JSON answer from a value; synthesized `Codable` omits absent optionals.
    static func json(status: Int, encoding value: some Encodable) throws(APIError) -> HTTPResponse {
        let encoder = JSONEncoder()
        // Foundation on Linux writes "\/" otherwise; paths (`cwd`) stay readable this way.
        encoder.outputFormatting = [.withoutEscapingSlashes]
        do {
            let data = try encoder.encode(value)
            return HTTPResponse(status: status, headers: [Header("Content-Type", "application/json")], body: Array(data))
        } catch {
            throw APIError(AmarreError(.internalError))
        }
    }

    /// 204: no body, so no content type.
    public static let noContent = HTTPResponse(status: 204)

    /// The one place where a failure becomes an HTTP answer: `AmarreError` gives the status
    /// and the `{"error": ...}` body; a 405 adds `Allow`.
    public init(failure: APIError) {
        self = .json(status: failure.error.httpStatus, text: failure.error.jsonBody)
        if failure.error.code == .methodNotAllowed {
            headers.append(Header("Allow", failure.allowedMethods.map(\.rawValue).joined(separator: ", ")))
        }
        if failure.error.code == .unauthorized {
            headers.append(Header("WWW-Authenticate", "Bearer"))
        }
        if let seconds = failure.error.retryAfter {
            headers.append(Header("Retry-After", "\(seconds)"))
        }
    }

    /// The bytes a FastCGI responder writes to its stdout: `Status:` line, headers, blank
    /// line, body (left out for HEAD).
    public func cgiBytes(includeBody: Bool = true) -> [UInt8] {
        var head = "Status: \(status) \(HTTPResponse.reasonPhrase(status))\r\n"
        for header in headers { head += "\(header.name): \(header.value)\r\n" }
        head += "\r\n"
        var out = Array(head.utf8)
        if includeBody { out += body }
        return out
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
