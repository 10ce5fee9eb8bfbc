import Crypto
import EggloguJSON

/// Hashes of canonical JSON: equal content gives an equal hash on every replica.
public enum ContentHash {
    /// SHA-256 of the canonical JSON of `value`, as 32 hex digits (128 bits).
    public static func of(_ value: JSONValue) -> String {
        hex(SHA256.hash(data: value.serialized(.canonical)))
    }

    /// The hash of an object's canonical JSON.
    public static func of(_ object: JSONObject) -> String {
        of(.object(object))
    }

    /// SHA-256 of `parts` joined by NUL bytes, as 32 hex digits.
    public static func of(parts: [String]) -> String {
        var bytes: [UInt8] = []
        for (n, part) in parts.enumerated() {
            if n > 0 { bytes.append(0) }
            bytes.append(contentsOf: part.utf8)
        }
        return hex(SHA256.hash(data: bytes))
    }

    /// Whether `text` has the form of a hash: 32 lowercase hex digits.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(32)
        for byte in digest.prefix(16) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
