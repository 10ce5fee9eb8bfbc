import EggloguJSON
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct JSONWriterTests {
    /// Canonical JSON orders keys by their UTF-8 bytes, which differs from Swift's `String` order
    /// for some non-ASCII keys; a content hash depends on it.
    @Test func canonicalKeysFollowUTF8ByteOrder() throws {
        var random = SystemRandomNumberGenerator()
        let pieces = ["", "a", "A", "é", "e\u{301}", "ea", "_", "z", "日", "\u{1F600}", "ﬀ", "aa", "a\u{0}"]
        for _ in 0..<200 {
            var keys: Set<String> = []
            for _ in 0..<Int.random(in: 1...40, using: &random) {
                keys.insert((0..<Int.random(in: 1...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined())
            }
            let object = JSONObject(keys.shuffled(using: &random).map { ($0, JSONValue.string($0)) })
            var writer = JSONWriter(style: .canonical)
            writer.write(.object(object))
            guard case .object(let parsed) = try JSONParser().parse(writer.bytes) else {
                Issue.record("canonical output is not an object")
                return
            }
            let expected = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            #expect(parsed.keys == expected)
        }
    }

    /// The bytes of a canonical document are pinned: content hashes stored in every replica depend on them.
    @Test func canonicalTextIsPinned() throws {
        let value = try JSONParser().parse(#"{"zeta":1,"id":"r1","é":"x","e":[3,{"b":2,"a":"ü"}],"ea":-7,"E":null,"_":"u"}"#)
        #expect(value.jsonText(.canonical) == #"{"E":null,"_":"u","e":[3,{"a":"ü","b":2}],"ea":-7,"id":"r1","zeta":1,"é":"x"}"#)
    }

    @Test func integersAreWrittenAsTheirDecimalText() {
        let values: [Int64] = [0, 1, -1, 9, 10, -10, 1_750_000_000_123, .max, .min, .max - 1, .min + 1]
        for value in values {
            var writer = JSONWriter()
            writer.appendRaw("x")
            writer.writeInteger(value)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == "x" + String(value))
        }
    }

    @Test func keysOpenAndSeparateAnObject() {
        var writer = JSONWriter()
        writer.writeKey("a\"b", first: true)
        writer.writeInteger(1)
        writer.writeKey("c", first: false)
        writer.appendRaw("null")
        writer.appendByte(UInt8(ascii: "}"))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a\"b":1,"c":null}"#)
    }
}
