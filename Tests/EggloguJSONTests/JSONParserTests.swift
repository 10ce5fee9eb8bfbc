import EggloguJSON
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct JSONParserTests {
    let parser = JSONParser()

    @Test func parsesEveryKindOfValue() throws {
        let value = try parser.parse(#" {"a": [1, -2.5e3, true, false, null, "x\u00e9\n"], "b": {}} "#)
        #expect(value == ["a": [1, -2500.0, true, false, nil, "xé\n"], "b": .object(JSONObject())])
    }

    @Test func keepsKeyOrderAndNumberLiterals() throws {
        let text = #"{"z":1.0,"a":[1e2,-0,0.10],"m":"é"}"#
        #expect(try parser.parse(text).jsonText() == text)
    }

    @Test func equalityIgnoresKeyOrderAndNumberSpelling() throws {
        #expect(try parser.parse(#"{"a":1,"b":2.0}"#) == parser.parse(#"{"b":2,"a":1.00}"#))
        #expect(try parser.parse(#"{"a":1}"#) != parser.parse(#"{"a":2}"#))
    }

    @Test func canonicalFormSortsKeysAndNormalisesNumbers() throws {
        let a = try parser.parse(#"{"b":1.0,"a":{"y":1e2,"x":"\u0041"}}"#)
        let b = try parser.parse(#"{"a":{"x":"A","y":100},"b":1}"#)
        #expect(a.jsonText(.canonical) == #"{"a":{"x":"A","y":100},"b":1}"#)
        #expect(a.jsonText(.canonical) == b.jsonText(.canonical))
    }

    @Test func repeatedKeysKeepFirstPositionAndLastValue() throws {
        #expect(try parser.parse(#"{"a":1,"b":2,"a":3}"#).jsonText() == #"{"a":3,"b":2}"#)
        let many = "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k3\":99}"
        #expect(try parser.parse(many).objectValue?["k3"] == 99)
    }

    @Test func surrogatePairsAndEscapesRoundTrip() throws {
        let value = try parser.parse(#""\ud83d\udc14 \"q\" \\ \/ \t""#)
        #expect(value == .string("🐔 \"q\" \\ / \t"))
        #expect(try parser.parse(value.jsonText()) == value)
        #expect(JSONValue.string("\u{1}").jsonText() == #""\u0001""#)
    }

    @Test(arguments: [
        (#"{"a":1"#, JSONParseError.Kind.unexpectedEnd, 1, 7),
        ("{\n  \"a\": [1,\n  2,,3]}", .unexpectedCharacter, 3, 5),
        (#"[01]"#, .unexpectedCharacter, 1, 3),
        (#"{"a":tru}"#, .unexpectedCharacter, 1, 6),
        (#"["\x"]"#, .invalidEscape, 1, 3),
        (#"["\ud800"]"#, .invalidEscape, 1, 3),
        ("[\"a\u{01}\"]", .controlCharacter, 1, 4),
        (#"[1.]"#, .invalidNumber, 1, 2),
        (#"[] []"#, .trailingCharacters, 1, 4),
        ("", .unexpectedEnd, 1, 1),
    ])
    func reportsWhatAndWhere(text: String, kind: JSONParseError.Kind, line: Int, column: Int) {
        #expect {
            _ = try parser.parse(text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.kind == kind && error.line == line && error.column == column
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try parser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func aMillionOpeningBracketsFailFastInsteadOfOverflowingTheStack() {
        let hostile = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect {
            _ = try parser.parse(hostile)
        } throws: { error in
            (error as? JSONParseError)?.kind == .tooDeep && "\(error)".contains("nesting deeper than 256")
        }
    }

    @Test func aDocumentOverItsValueLimitStopsWhereTheLimitIs() throws {
        let limited = JSONParser(maxValues: 10)
        #expect(try limited.parse("[1,2,3,4,5,6,7,8,9]").arrayValue?.count == 9)
        #expect {
            _ = try limited.parse("[[],[],[],[],[],[],[],[],[],[]]")
        } throws: { error in
            (error as? JSONParseError)?.kind == .tooManyValues && (error as? JSONParseError)?.offset == 28
        }
    }

    @Test func nestingUpToTheLimitIsFine() throws {
        let depth = JSONParser.defaultMaxDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(try parser.parse(text).arrayValue != nil)
    }

    @Test func prettyOutputParsesBackToTheSameValue() throws {
        let value = try parser.parse(#"{"a":[1,{"b":null}],"c":{}}"#)
        let pretty = value.jsonText(.pretty)
        #expect(pretty.contains("\n  \"a\": [\n"))
        #expect(try parser.parse(pretty) == value)
    }

    @Test func numbersExposeIntegerAndDoubleValues() throws {
        #expect(JSONNumber(3).intValue == 3)
        #expect(try parser.parse("2.0").numberValue?.intValue == 2)
        #expect(try parser.parse("2.5").numberValue?.intValue == nil)
        #expect(JSONNumber(0.1).literal == "0.1")
        #expect(JSONNumber(5.0).literal == "5")
    }

    /// Integers skip the trip through a double when hashing; the text must be what that trip gives.
    @Test func canonicalNumberTextMatchesTheValueWrittenAgain() throws {
        var literals = ["0", "-0", "7", "-7", "10", "120", "-4000", "999999999999999", "-999999999999999", "1000000000000000"]
        literals += ["9007199254740993", "1.0", "1e3", "-1.5", "0.0", "2E2", "12345678901234567890", "1.25e-7"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            literals.append(String(Int64.random(in: -99_999_999_999_999_999...99_999_999_999_999_999, using: &random)))
        }
        for literal in literals {
            let number = try #require(try parser.parse(literal).numberValue, "\(literal)")
            #expect(number.canonical == JSONNumber(number.doubleValue).literal, "\(literal)")
        }
    }
}
