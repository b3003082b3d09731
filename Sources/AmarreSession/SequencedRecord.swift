public import AmarreCore
import AmarreJSON

/// Puts the server's `_seq` into a record: `{"_seq":N,` followed by the object's members,
/// byte for byte. Records that are not JSON objects are wrapped as
/// `{"type":"amarre.raw","_seq":N,"line":"<text>"}` so every frame stays a JSON object.
public enum SequencedRecord {
    /// - Parameter object: a JSON object's text (validated by the caller).
    public static func inject(seq: Int64, into object: UnsafeRawBufferPointer) -> [UInt8] {
        var i = 0
        while i < object.count, object[i] != UInt8(ascii: "{") { i += 1 }
        var j = i + 1
        while j < object.count, object[j] == 0x20 || object[j] == 0x09 || object[j] == 0x0A || object[j] == 0x0D { j += 1 }
        let empty = j < object.count && object[j] == UInt8(ascii: "}")
        var out = [UInt8]()
        out.reserveCapacity(object.count + 24)
        out.append(contentsOf: #"{"_seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        if empty {
            out.append(UInt8(ascii: "}"))
        } else {
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: object[(i + 1)...]))
        }
        return out
    }

    /// An agent's object with its top-level `_` members removed (they are the server's), then
    /// sequenced. Rare, so it is re-encoded (compact, members in their order, numbers as
    /// written): such a record is not passed byte for byte.
    public static func injectDroppingReserved(seq: Int64, into object: UnsafeRawBufferPointer) -> [UInt8]? {
        guard case .object(let members)? = JSONValue.parse(Array(object)) else { return nil }
        let kept = JSONValue.object(members.filter { !$0.key.hasPrefix("_") })
        return kept.jsonBytes.withUnsafeBytes { inject(seq: seq, into: $0) }
    }

    public static func wrapRaw(seq: Int64, line: String) -> [UInt8] {
        Array((#"{"type":"amarre.raw","_seq":\#(seq),"line":"# + JSONText.quote(line) + "}").utf8)
    }
}
