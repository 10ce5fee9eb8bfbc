import EggloguCore
import EggloguJSON
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct RecordVersionTests {
    /// `recordText` writes the record directly; it must be the bytes of `record` written as JSON.
    @Test func recordTextIsTheRecordWrittenAsJSON() throws {
        var random = SystemRandomNumberGenerator()
        let texts = ["", "plain", "quote \" and \\ back", "line\nbreak\t\u{01}", "é ñ 日本", "</script>"]
        for n in 0..<500 {
            var content = JSONObject([("id", .string("r\(n)"))])
            for field in 0..<Int.random(in: 0...6, using: &random) {
                let value: JSONValue
                switch Int.random(in: 0..<5, using: &random) {
                case 0: value = .string(texts.randomElement(using: &random)!)
                case 1: value = .number(JSONNumber(Int.random(in: -1_000_000...1_000_000, using: &random)))
                case 2: value = .number(JSONNumber(Double.random(in: -1e6...1e6, using: &random)))
                case 3: value = .array([.bool(true), .null, ["k": .string(texts.randomElement(using: &random)!)]])
                default: value = .null
                }
                content[texts.randomElement(using: &random)! + "\(field)"] = value
            }
            let stamp = Timestamp(milliseconds: Int64.random(in: 0...4_000_000_000_000, using: &random))
            let devices = (0..<Int.random(in: 0...3, using: &random)).map { ("dev-\($0)", stamp.adding(milliseconds: Int64(-$0))) }
            let version = RecordVersion(
                id: "r\(n)",
                content: content,
                updatedAt: stamp,
                deletedAt: Bool.random(using: &random) ? stamp : nil,
                origin: texts.randomElement(using: &random)!,
                vector: VersionVector(Dictionary(uniqueKeysWithValues: devices)),
                generation: Bool.random(using: &random) ? 0 : Int.random(in: 1...99, using: &random)
            )
            #expect(version.recordText == JSONValue.object(version.record).serialized(), "record \(n)")
            #expect(try RecordVersion(record: JSONParser().parse(version.recordText)) == version, "record \(n) reads back")
        }
    }

    /// Content hashes are stored in every replica and compared between them, so their value is pinned.
    @Test func contentHashIsPinned() throws {
        let value = try JSONParser().parse(#"{"zeta":1,"id":"r1","é":"x","e":[3,{"b":2,"a":"ü"}],"ea":-7,"E":null,"_":"u"}"#)
        #expect(ContentHash.of(value) == "3dfa02a9e69ed3054427f21792222737")
        #expect(ContentHash.of(parts: ["a", "b"]) == "59b271ae1bbcb1d31d41929817f4b16f")
    }
}
