/// A strict RFC 8259 parser with a nesting limit and exact error positions.
///
/// It never recurses deeper than ``maxDepth``, so hostile input such as a
/// million `[` fails fast with ``JSONParseError/Kind/tooDeep`` instead of
/// exhausting the stack. With ``maxValues`` it stops building a document that
/// holds more values than that (``JSONParseError/Kind/tooManyValues``): a few
/// megabytes of `[],[],…` would otherwise take gigabytes once parsed.
public struct JSONParser: Sendable {
    /// The default nesting limit: far above any real blob, far below the stack.
    public static let defaultMaxDepth = 256

    public var maxDepth: Int
    /// The most values (scalars, arrays, objects) a document may hold.
    public var maxValues: Int

    public init(maxDepth: Int = JSONParser.defaultMaxDepth, maxValues: Int = .max) {
        self.maxDepth = maxDepth
        self.maxValues = maxValues
    }

    /// Parses one complete JSON document.
    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses one complete JSON document from memory the caller holds (a network buffer, say) without copying it.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        try parse(bytes.bindMemory(to: UInt8.self))
    }

    private func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: buffer, maxDepth: maxDepth, maxValues: maxValues)
        return try reader.document()
    }

    /// Parses one complete JSON document from UTF-8 text.
    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    let maxValues: Int
    var i = 0
    var depth = 0
    var values = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, maxValues: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.maxValues = maxValues
    }

    func fail(_ kind: JSONParseError.Kind, _ detail: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(kind, detail, offset: offset ?? i, in: bytes)
    }

    func unexpected(_ expected: String) -> JSONParseError {
        if i >= bytes.count {
            return fail(.unexpectedEnd, "unexpected end of input (truncated?) where \(expected) was expected")
        }
        return fail(.unexpectedCharacter, "unexpected \(describe(bytes[i])) where \(expected) was expected")
    }

    func describe(_ b: UInt8) -> String {
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    mutating func document() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        skipWhitespace()
        let v = try value()
        skipWhitespace()
        if i < bytes.count {
            throw fail(.trailingCharacters, "unexpected \(describe(bytes[i])) after the end of the document")
        }
        return v
    }

    mutating func value() throws(JSONParseError) -> JSONValue {
        guard i < bytes.count else { throw unexpected("a value") }
        values += 1
        if values > maxValues {
            throw fail(.tooManyValues, "more than \(maxValues) values")
        }
        switch bytes[i] {
        case UInt8(ascii: "{"): return .object(try object())
        case UInt8(ascii: "["): return .array(try array())
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw unexpected("a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let start = i
        for b in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard i < bytes.count else { throw unexpected("'\(word)'") }
            guard bytes[i] == b else { throw fail(.unexpectedCharacter, "invalid literal, expected '\(word)'", at: start) }
            i += 1
        }
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth {
            throw fail(.tooDeep, "nesting deeper than \(maxDepth) levels")
        }
    }

    mutating func array() throws(JSONParseError) -> [JSONValue] {
        try enter()
        i += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try value())
            skipWhitespace()
            guard i < bytes.count else { throw unexpected("',' or ']'") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "]") {
                i += 1
                depth -= 1
                return elements
            } else {
                throw unexpected("',' or ']'")
            }
        }
    }

    mutating func object() throws(JSONParseError) -> JSONObject {
        try enter()
        i += 1
        var entries: [JSONObject.Element] = []
        var index: [String: Int]? = nil
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return JSONObject(uniqueEntries: entries)
        }
        while true {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw unexpected("a string key") }
            let key = try string()
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw unexpected("':'") }
            i += 1
            skipWhitespace()
            let v = try value()
            // A repeated key keeps its first position and its last value, as JSON.parse does.
            if entries.count >= 16 && index == nil {
                index = Dictionary(entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { a, _ in a })
            }
            if let position = index != nil ? index![key] : entries.firstIndex(where: { $0.key == key }) {
                entries[position].value = v
            } else {
                index?[key] = entries.count
                entries.append((key, v))
            }
            skipWhitespace()
            guard i < bytes.count else { throw unexpected("',' or '}'") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "}") {
                i += 1
                depth -= 1
                return JSONObject(uniqueEntries: entries)
            } else {
                throw unexpected("',' or '}'")
            }
        }
    }

    mutating func number() throws(JSONParseError) -> JSONNumber {
        let start = i
        func digits(_ r: inout Reader) -> Int {
            let s = r.i
            while r.i < r.bytes.count, r.bytes[r.i] >= UInt8(ascii: "0"), r.bytes[r.i] <= UInt8(ascii: "9") { r.i += 1 }
            return r.i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { throw unexpected("a digit") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else if digits(&self) == 0 {
            throw fail(.invalidNumber, "invalid number", at: start)
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            if digits(&self) == 0 { throw fail(.invalidNumber, "invalid number: no digits after '.'", at: start) }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            if digits(&self) == 0 { throw fail(.invalidNumber, "invalid number: no digits in exponent", at: start) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        return JSONNumber(validatedLiteral: text)
    }

    mutating func string() throws(JSONParseError) -> String {
        let open = i
        i += 1
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<i])
                i += 1
                return try validated(raw, at: start)
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail(.controlCharacter, "unescaped control character in string") }
            i += 1
        }
        guard i < bytes.count else {
            throw fail(.unexpectedEnd, "unexpected end of input (truncated?) inside the string that starts", at: open)
        }
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return try buffer.withUnsafeBufferPointer { (p) throws(JSONParseError) -> String in
                    try validated(p, at: start)
                }
            }
            if b < 0x20 { throw fail(.controlCharacter, "unescaped control character in string") }
            if b != UInt8(ascii: "\\") {
                buffer.append(b)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { break }
            switch bytes[i] {
            case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                let scalar = try unicodeEscape()
                buffer.append(contentsOf: String(Character(scalar)).utf8)
                continue
            default:
                throw fail(.invalidEscape, "invalid escape sequence '\\\(describe(bytes[i]))'", at: i - 1)
            }
            i += 1
        }
        throw fail(.unexpectedEnd, "unexpected end of input (truncated?) inside the string that starts", at: open)
    }

    /// Reads `uXXXX` (and a following low surrogate escape); leaves `i` after it.
    mutating func unicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        let escapeStart = i - 1
        let high = try hex4()
        if high >= 0xD800 && high < 0xDC00 {
            guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                throw fail(.invalidEscape, "unpaired UTF-16 surrogate in \\u escape", at: escapeStart)
            }
            i += 1
            let low = try hex4()
            guard low >= 0xDC00 && low < 0xE000 else {
                throw fail(.invalidEscape, "unpaired UTF-16 surrogate in \\u escape", at: escapeStart)
            }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(high) else {
            throw fail(.invalidEscape, "unpaired UTF-16 surrogate in \\u escape", at: escapeStart)
        }
        return scalar
    }

    /// Reads `uXXXX` with `i` on the `u`.
    mutating func hex4() throws(JSONParseError) -> UInt32 {
        let start = i - 1
        i += 1
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard i < bytes.count else { throw unexpected("a hex digit") }
            let b = bytes[i]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw fail(.invalidEscape, "invalid \\u escape", at: start)
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    func validated(_ raw: UnsafeBufferPointer<UInt8>, at offset: Int) throws(JSONParseError) -> String {
        if raw.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: raw, as: UTF8.self)
        }
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw fail(.invalidUTF8, "string is not valid UTF-8", at: offset)
        }
        return s
    }
}
