import Crypto
import EggloguJSON

/// Hashes of canonical JSON: equal content gives an equal hash on every replica.
public enum ContentHash {
    /// SHA-256 of the canonical JSON of `value`, as 32 hex digits (128 bits).
    public static func of(_ value: JSONValue) -> String {
        var writer = JSONWriter(style: .canonical, reservingCapacity: 512)
        writer.write(value)
        return hex(SHA256.hash(data: writer.bytes))
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
        digest.withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: 32) { out in
                for (n, byte) in raw.prefix(16).enumerated() {
                    out[2 * n] = digit(byte >> 4)
                    out[2 * n + 1] = digit(byte & 0x0F)
                }
                return 32
            }
        }
    }

    private static func digit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
