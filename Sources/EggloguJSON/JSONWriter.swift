/// Writes JSON into a byte buffer.
///
/// `.compact` keeps key order and number literals, so parse-then-write is a
/// faithful round trip. `.canonical` sorts keys by their UTF-8 bytes and writes
/// numbers by value: two documents that mean the same give the same bytes,
/// which is what content hashes are computed over.
public struct JSONWriter: Sendable {
    public enum Style: Sendable {
        case compact
        case pretty
        case canonical
    }

    public var style: Style
    public var bytes: [UInt8] = []

    public init(style: Style = .compact, reservingCapacity capacity: Int = 0) {
        self.style = style
        bytes.reserveCapacity(capacity)
    }

    /// Appends raw, already valid JSON text.
    public mutating func appendRaw(_ text: some Sequence<UInt8>) {
        bytes.append(contentsOf: text)
    }

    /// Appends raw, already valid JSON text from memory someone else owns.
    public mutating func appendRaw(_ text: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: text)
    }

    public mutating func appendRaw(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends one ASCII byte of JSON syntax (`{`, `,`, `:`, ...).
    public mutating func appendByte(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Appends `key` as a string followed by `:`, after a `{` when `first` else a `,`.
    public mutating func writeKey(_ key: String, first: Bool) {
        bytes.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Appends the decimal digits of `value`.
    public mutating func writeInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        var magnitude = value.magnitude
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }

    public mutating func write(_ value: JSONValue) {
        write(value, indent: 0)
    }

    mutating func write(_ value: JSONValue, indent: Int) {
        switch value {
        case .null: appendRaw("null")
        case .bool(let b): appendRaw(b ? "true" : "false")
        case .number(let n): appendRaw(style == .canonical ? n.canonical : n.literal)
        case .string(let s): writeString(s)
        case .array(let elements): writeArray(elements, indent: indent)
        case .object(let object): writeObject(object, indent: indent)
        }
    }

    mutating func writeArray(_ elements: [JSONValue], indent: Int) {
        bytes.append(UInt8(ascii: "["))
        for (n, element) in elements.enumerated() {
            if n > 0 { bytes.append(UInt8(ascii: ",")) }
            newline(indent + 1)
            write(element, indent: indent + 1)
        }
        if !elements.isEmpty { newline(indent) }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func writeObject(_ object: JSONObject, indent: Int) {
        let entries = object.entries
        guard style == .canonical, entries.count > 1 else {
            writeEntries(entries.indices, of: entries, indent: indent)
            return
        }
        // Keys are sorted by their first eight bytes as one integer, and by all their bytes only
        // when those tie: most comparisons are then one integer comparison.
        withUnsafeTemporaryAllocation(of: (prefix: UInt64, index: Int).self, capacity: entries.count) { buffer in
            var order = buffer
            for i in entries.indices {
                order.initializeElement(at: i, to: (Self.sortPrefix(of: entries[i].key), i))
            }
            order.sort { a, b in
                a.prefix != b.prefix ? a.prefix < b.prefix : JSONObject.keyPrecedes(entries[a.index].key, entries[b.index].key)
            }
            writeEntries(order.lazy.map(\.index), of: entries, indent: indent)
        }
    }

    /// The first eight UTF-8 bytes of `key`, big-endian, padded with zeros: comparing two of these
    /// orders keys as their bytes do, except that a tie says nothing.
    static func sortPrefix(of key: String) -> UInt64 {
        var prefix: UInt64 = 0
        var count = 0
        for byte in key.utf8 {
            prefix = prefix << 8 | UInt64(byte)
            count += 1
            if count == 8 { return prefix }
        }
        return prefix << (8 * UInt64(8 - count))
    }

    private mutating func writeEntries(_ order: some Collection<Int>, of entries: [JSONObject.Element], indent: Int) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for index in order {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            newline(indent + 1)
            writeString(entries[index].key)
            bytes.append(UInt8(ascii: ":"))
            if style == .pretty { bytes.append(UInt8(ascii: " ")) }
            write(entries[index].value, indent: indent + 1)
        }
        if !entries.isEmpty { newline(indent) }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func newline(_ indent: Int) {
        guard style == .pretty else { return }
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }

    public mutating func writeString(_ s: String) {
        var text = s
        text.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var plain = true
            for b in utf8 where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                plain = false
                break
            }
            if plain {
                bytes.append(contentsOf: utf8)
            } else {
                writeEscaped(utf8)
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private mutating func writeEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        for b in utf8 {
            switch b {
            case UInt8(ascii: "\""): appendRaw("\\\"")
            case UInt8(ascii: "\\"): appendRaw("\\\\")
            case 0x0A: appendRaw("\\n")
            case 0x0D: appendRaw("\\r")
            case 0x09: appendRaw("\\t")
            case 0x08: appendRaw("\\b")
            case 0x0C: appendRaw("\\f")
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                appendRaw("\\u00")
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
    }
}

extension JSONValue {
    /// The value written as JSON bytes.
    public func serialized(_ style: JSONWriter.Style = .compact) -> [UInt8] {
        var writer = JSONWriter(style: style)
        writer.write(self)
        return writer.bytes
    }

    /// The value written as JSON text.
    public func jsonText(_ style: JSONWriter.Style = .compact) -> String {
        String(decoding: serialized(style), as: UTF8.self)
    }
}

extension JSONObject {
    /// The object written as JSON text.
    public func jsonText(_ style: JSONWriter.Style = .compact) -> String {
        JSONValue.object(self).jsonText(style)
    }
}
