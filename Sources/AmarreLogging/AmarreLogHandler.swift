import AmarreCore
import AmarreJSON
import Foundation
public import Logging

/// The log handler of amarre-host and amarre-api: one line per event on standard error,
/// like swift-log's `StreamLogHandler`, but every control character of the message and the
/// metadata (agent stderr, client-supplied headers) is escaped, so nothing logged can
/// forge a log line or drive the terminal that shows it.
///
/// Formats (`AMARRE_LOG_FORMAT`): `text` (default) `<time> <level> <label> : k=v … message`;
/// `logfmt` `time=… level=… logger=… msg="…" k=v …` (values quoted when they need it);
/// `json` one object per line `{"time","level","logger","msg",<metadata>…}`.
public struct AmarreLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable { case text, logfmt, json }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let write: @Sendable (String) -> Void

    public init(
        label: String, level: Logger.Level = .info, format: Format = .text, write: (@Sendable (String) -> Void)? = nil
    ) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.write = write ?? AmarreLogHandler.writeToStandardError
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let more = event.metadata { all.merge(more) { _, new in new } }
        let sorted = all.sorted(by: { $0.key < $1.key })
        let time = AmarreLogHandler.timestamp()
        switch format {
        case .text:
            var line = time + " " + event.level.rawValue + " " + label + " :"
            for (key, value) in sorted {
                line += " " + AmarreLogHandler.escape(key) + "=" + AmarreLogHandler.escape("\(value)")
            }
            write(line + " " + AmarreLogHandler.escape("\(event.message)") + "\n")
        case .logfmt:
            var line = "time=" + time + " level=" + event.level.rawValue + " logger=" + Self.logfmtValue(label)
                + " msg=" + Self.logfmtValue("\(event.message)")
            for (key, value) in sorted {
                line += " " + Self.logfmtKey(key) + "=" + Self.logfmtValue("\(value)")
            }
            write(line + "\n")
        case .json:
            var line = "{\"time\":" + Self.json(time) + ",\"level\":" + Self.json(event.level.rawValue)
                + ",\"logger\":" + Self.json(label) + ",\"msg\":" + Self.json("\(event.message)")
            for (key, value) in sorted where !["time", "level", "logger", "msg"].contains(key) {
                line += "," + Self.json(key) + ":" + Self.json("\(value)")
            }
            write(line + "}\n")
        }
    }

    /// A logfmt value: bare when it is one plain word, else quoted with `\"` and `\\` escaped
    /// (and control characters escaped as everywhere).
    static func logfmtValue(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" }
        if plain { return escape(text) }
        return "\"" + escape(text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")) + "\""
    }

    /// A JSON string literal that stays on one line and never drives a terminal.
    static func json(_ text: String) -> String { JSONText.quote(text, allControls: true) }

    /// A logfmt key: characters other than letters, digits, `.`, `_` and `-` become `_`.
    static func logfmtKey(_ key: String) -> String {
        String(key.unicodeScalars.map { scalar -> Character in
            let ok = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "_" || scalar == "-"
            return ok ? Character(scalar) : "_"
        })
    }


    /// `text` with control characters (C0, DEL, C1) written as `\n`, `\r`, `\t` or `\xNN`
    /// (`\u{NNNN}` for C1), so it always stays on one line.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                if scalar.value < 0x80 {
                    out += "\\x" + (hex.count < 2 ? "0" : "") + hex
                } else {
                    out += "\\u{" + hex + "}"
                }
            }
        }
        return out
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
            || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var time = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &time)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &time)
        let millis = now.tv_nsec / 1_000_000
        let ms = (millis < 100 ? (millis < 10 ? "00" : "0") : "") + String(millis)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) + "." + ms + "Z"
    }

    @Sendable private static func writeToStandardError(_ line: String) {
        // One write(2) per line: lines of concurrent threads never interleave.
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    /// Bootstraps swift-log with this handler at `AMARRE_LOG_LEVEL` (default info) in
    /// `AMARRE_LOG_FORMAT` (default text; an unknown value is text).
    public static func bootstrap(environment: [String: String]) {
        let level = Logger.Level(rawValue: environment["AMARRE_LOG_LEVEL"] ?? "") ?? .info
        let format = Format(rawValue: environment["AMARRE_LOG_FORMAT"] ?? "") ?? .text
        LoggingSystem.bootstrap { label in AmarreLogHandler(label: label, level: level, format: format) }
    }
}
