/// Keeps secrets and line breaks out of log lines.
enum LogRedaction {
    private static let secretWords = ["token", "password", "secret", "authorization", "credential"]

    /// Whether a metadata key names something secret.
    static func isSecretKey(_ key: String) -> Bool {
        let lower = key.lowercased()
        return secretWords.contains { lower.contains($0) }
    }

    /// Escapes control characters and masks JWT-shaped runs (`eyJ….eyJ….…`).
    static func clean(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return maskTokens(out)
    }

    private static func isTokenCharacter(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == UInt8(ascii: "-")
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
    }

    private static func maskTokens(_ text: String) -> String {
        guard text.contains("eyJ") else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "e"), i + 3 <= bytes.count, bytes[i..<i + 3].elementsEqual("eyJ".utf8),
                i == 0 || !isTokenCharacter(bytes[i - 1])
            {
                var j = i
                while j < bytes.count, isTokenCharacter(bytes[j]) { j += 1 }
                let run = bytes[i..<j]
                if run.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).count == 3, run.count >= 20 {
                    out += Array("<token>".utf8)
                    i = j
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
