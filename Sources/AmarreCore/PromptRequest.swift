import AmarreJSON
import Foundation

/// `POST /sessions/<id>/prompt`: a message (and images) for the agent, written to its stdin
/// exactly as a WebSocket client's pi command would be: `{"type":<mode>,"message",…,"images"?}`.
public struct PromptRequest: Sendable, Codable, Equatable {
    public enum Mode: String, Sendable, Codable, CaseIterable {
        case prompt, steer
        case followUp = "follow_up"
    }

    public var message: String
    public var images: [PromptImage]
    public var mode: Mode
    /// The command's `id` as written to the agent (its `response` carries it): the body's own,
    /// else one amarre-api makes (`amarre-rest-<hex>`).
    public var id: String?

    /// Most images in one prompt.
    public static let maxImages = 10
    /// Longest message (the WebSocket's own limit is the record limit; scripts get 1 MiB).
    public static let maxMessageBytes = 1 << 20
    /// Largest image, as base64 text (what the models' APIs count: 5 MiB).
    public static let maxImageBytes = 5 << 20
    /// All images of one prompt, as base64 text: the agent repeats them in its own records
    /// (pi: `message_start`, `message_end`, `agent_end`), each of which must stay under
    /// `AMARRE_MAX_RECORD_BYTES` (16 MiB) with the rest of the run.
    public static let maxTotalImageBytes = 8 << 20
    /// Longest `id` taken from a body.
    public static let maxIDBytes = 128
    /// Largest body this route takes (10 images of 5 MB do not fit; nginx allows 16m here).
    public static let maxBodyBytes = 16 << 20
    /// The image types the page and the agents know.
    public static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/webp", "image/gif"]

    public init(message: String, images: [PromptImage] = [], mode: Mode = .prompt, id: String? = nil) {
        self.message = message
        self.images = images
        self.mode = mode
        self.id = id
    }

    /// `{"message":string,"images"?:[{"type":"image","data":<base64>,"mimeType"}],"mode"?}`;
    /// anything else is a `bad_request` that says what is wrong.
    public static func parse(body: [UInt8]) throws(AmarreError) -> PromptRequest {
        let request: PromptRequest
        do {
            request = try JSONDecoder().decode(PromptRequest.self, from: Data(body.isEmpty ? Array("{}".utf8) : body))
        } catch let error as DecodingError {
            throw .badRequest(Self.describe(error))
        } catch {
            throw .badRequest("body must be a JSON object")
        }
        guard request.message.utf8.count <= maxMessageBytes else {
            throw .badRequest("\"message\" is longer than \(maxMessageBytes) bytes")
        }
        guard request.images.count <= maxImages else { throw .badRequest("at most \(maxImages) images") }
        if let id = request.id, id.isEmpty || id.utf8.count > maxIDBytes {
            throw .badRequest("\"id\" must be 1 to \(maxIDBytes) bytes")
        }
        let total = request.images.reduce(0) { $0 + $1.data.utf8.count }
        guard total <= maxTotalImageBytes else {
            throw .badRequest("the images are \(total) bytes of base64 together; at most \(maxTotalImageBytes)")
        }
        for (index, image) in request.images.enumerated() {
            guard image.type == "image" else { throw .badRequest("images[\(index)].type must be \"image\"") }
            guard imageTypes.contains(image.mimeType) else {
                throw .badRequest("images[\(index)].mimeType must be one of \(imageTypes.sorted().joined(separator: ", "))")
            }
            guard Base64Text.decodedCount(image.data) != nil else {
                throw .badRequest("images[\(index)].data must be base64 (without a data: prefix)")
            }
            guard image.data.utf8.count <= maxImageBytes else {
                throw .badRequest("images[\(index)] is more than \(maxImageBytes) bytes of base64")
            }
        }
        return request
    }

    enum CodingKeys: String, CodingKey { case message, images, mode, id }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        message = try c.decode(String.self, forKey: .message)
        images = try c.decodeIfPresent([PromptImage].self, forKey: .images) ?? []
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? .prompt
        id = try c.decodeIfPresent(String.self, forKey: .id)
    }

    /// The pi command line written to the agent (or its adapter).
    public var line: String {
        var text = "{" + (id.map { #""id":"# + JSONText.quote($0) + "," } ?? "")
            + #""type":"# + JSONText.quote(mode.rawValue) + #","message":"# + JSONText.quote(message)
        if !images.isEmpty {
            text += #","images":["#
                + images.map {
                    #"{"type":"image","data":"# + JSONText.quote($0.data) + #","mimeType":"# + JSONText.quote($0.mimeType) + "}"
                }.joined(separator: ",") + "]"
        }
        return text + "}"
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "\"\(key.stringValue)\" is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath.isEmpty
                ? "body must be {\"message\":string,\"images\"?:[…],\"mode\"?:\"prompt\"|\"steer\"|\"follow_up\"}"
                : "bad \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\": expected "
                    + (context.codingPath.last?.stringValue == "mode" ? "\"prompt\", \"steer\" or \"follow_up\"" : "another type")
        @unknown default: "bad body"
        }
    }
}

/// pi's `ImageContent`: `{"type":"image","data":<base64>,"mimeType":"image/png"}`.
public struct PromptImage: Sendable, Codable, Equatable {
    public var type: String
    public var data: String
    public var mimeType: String

    public init(data: String, mimeType: String) {
        self.type = "image"
        self.data = data
        self.mimeType = mimeType
    }
}

/// Checks base64 text without decoding it.
public enum Base64Text {
    /// The decoded size of standard base64 `text` (padding optional), or nil when it is not base64.
    public static func decodedCount(_ text: String) -> Int? {
        var count = 0
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                guard padding == 0 else { return nil }
                count += 1
            case UInt8(ascii: "="):
                padding += 1
                guard padding <= 2 else { return nil }
            default:
                return nil
            }
        }
        guard count > 0, (count + padding) % 4 == 0 || padding == 0, count % 4 != 1 else { return nil }
        return count * 3 / 4
    }
}
