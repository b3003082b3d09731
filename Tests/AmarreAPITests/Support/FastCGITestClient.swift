import Glibc

/// A minimal FastCGI client (the web server's side): one request per connection,
/// BEGIN_REQUEST / PARAMS / STDIN out, STDOUT until END_REQUEST back.
enum FastCGITestClient {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private enum RecordType: UInt8 {
        case beginRequest = 1, endRequest = 3, params = 4, stdin = 5, stdout = 6, stderr = 7
    }

    private static let requestID: UInt16 = 1

    static func request(
        socket path: String, method: String, uri: String, headers: [String: String] = [:], body: [UInt8] = []
    ) throws -> Response {
        let fd = try TestSocket.connect(path)
        defer { close(fd) }
        return try request(on: fd, method: method, uri: uri, headers: headers, body: body, keep: false)
    }

    /// One request on an open connection; `keep` sets FCGI_KEEP_CONN, as nginx's
    /// `fastcgi_keep_conn on` does, so the server keeps the connection for the next one.
    static func request(
        on fd: Int32, method: String, uri: String, headers: [String: String] = [:], body: [UInt8] = [], keep: Bool
    ) throws -> Response {
        var params: [(String, String)] = [
            ("GATEWAY_INTERFACE", "CGI/1.1"), ("REQUEST_METHOD", method), ("REQUEST_URI", uri),
            ("DOCUMENT_URI", String(uri.prefix { $0 != "?" })), ("QUERY_STRING", String(uri.drop { $0 != "?" }.dropFirst())),
            ("CONTENT_LENGTH", body.isEmpty ? "" : "\(body.count)"), ("REQUEST_SCHEME", "http"),
        ]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            params.append(("HTTP_" + name.uppercased().replacingDashes, value))
        }

        // Role RESPONDER; flags: FCGI_KEEP_CONN (1) or 0 (close after).
        var out = record(.beginRequest, [0, 1, keep ? 1 : 0, 0, 0, 0, 0, 0])
        var encoded = [UInt8]()
        for (name, value) in params {
            encoded += length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8)
        }
        out += chunked(.params, encoded) + record(.params, [])
        out += chunked(.stdin, body) + record(.stdin, [])

        try TestSocket.writeAll(fd, out)

        var stdout = [UInt8]()
        while true {
            let header = try TestSocket.readExactly(fd, 8)
            let contentLength = Int(header[4]) << 8 | Int(header[5])
            let content = try TestSocket.readExactly(fd, contentLength + Int(header[6]))
            switch RecordType(rawValue: header[1]) {
            case .stdout: stdout += content[..<contentLength]
            case .endRequest: return try parse(stdout)
            default: continue
            }
        }
    }

    private static func parse(_ stdout: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = stdout.indices.first(where: { stdout[$0...].starts(with: separator) }) else {
            throw TestFailure("no header block in \(String(decoding: stdout, as: UTF8.self))")
        }
        var headers = [String: String]()
        for line in String(decoding: stdout[..<end], as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { throw TestFailure("bad header line \(line)") }
            headers[String(line[..<colon])] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        guard let status = headers["Status"]?.split(separator: " ").first.flatMap({ Int($0) }) else {
            throw TestFailure("no Status header")
        }
        return Response(status: status, headers: headers, body: Array(stdout[(end + 4)...]))
    }

    private static func record(_ type: RecordType, _ content: some Collection<UInt8>) -> [UInt8] {
        precondition(content.count <= 0xFFFF)
        let padding = (8 - content.count % 8) % 8
        return [1, type.rawValue, UInt8(requestID >> 8), UInt8(requestID & 0xFF),
                UInt8(content.count >> 8), UInt8(content.count & 0xFF), UInt8(padding), 0]
            + content + [UInt8](repeating: 0, count: padding)
    }

    private static func chunked(_ type: RecordType, _ bytes: [UInt8]) -> [UInt8] {
        stride(from: 0, to: bytes.count, by: 0x8000).flatMap { record(type, bytes[$0..<min($0 + 0x8000, bytes.count)]) }
    }

    private static func length(_ n: Int) -> [UInt8] {
        n < 128 ? [UInt8(n)] : [UInt8(n >> 24 | 0x80), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
    }
}

extension String {
    fileprivate var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}
