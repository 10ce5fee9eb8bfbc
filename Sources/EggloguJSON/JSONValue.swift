/// A JSON document as parsed, keeping what a round trip must not lose.
///
/// Objects keep their key order and numbers keep their literal text, so a value
/// that is parsed and written again comes back as it was. Equality is semantic:
/// key order does not matter and numbers compare by value.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The number, if this is a number.
    public var numberValue: JSONNumber? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

/// A JSON number that remembers how it was written.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number as written in the source, e.g. `1.0` or `-3e2`.
    public let literal: String

    /// Wraps a literal that the parser has already validated.
    init(validatedLiteral: String) {
        self.literal = validatedLiteral
    }

    public init(_ value: Int) {
        self.literal = String(value)
    }

    public init(_ value: Int64) {
        self.literal = String(value)
    }

    /// A finite double, written as JavaScript's `JSON.stringify` would.
    public init(_ value: Double) {
        self.literal = JSONNumber.canonicalText(value)
    }

    /// The value as a double (integers beyond 2^53 lose precision).
    public var doubleValue: Double { Double(literal) ?? .nan }

    /// The value as an integer, when it is one exactly.
    public var intValue: Int? {
        if let i = Int(literal) { return i }
        let d = doubleValue
        guard d.isFinite, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// The text used for hashing: equal numbers give equal text however they were written.
    public var canonical: String {
        JSONNumber.isCanonicalInteger(literal) ? literal : JSONNumber.canonicalText(doubleValue)
    }

    /// Whether `text` is an integer written as ``canonicalText(_:)`` writes it: at most 15 digits,
    /// no leading zero, no `-0` (most numbers in records are; they skip the trip through a double).
    static func isCanonicalInteger(_ text: String) -> Bool {
        var digits = 0
        var negative = false
        var leadingZero = false
        for b in text.utf8 {
            if b == UInt8(ascii: "-") && digits == 0 && !negative {
                negative = true
                continue
            }
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return false }
            if digits == 0 && b == UInt8(ascii: "0") { leadingZero = true }
            digits += 1
        }
        guard digits >= 1 && digits <= 15 else { return false }
        return !leadingZero || (digits == 1 && !negative)
    }

    public var description: String { literal }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        lhs.literal == rhs.literal || lhs.doubleValue == rhs.doubleValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(canonical)
    }

    static func canonicalText(_ d: Double) -> String {
        if d.isFinite, d.rounded() == d, abs(d) < 9.0e15 {
            return String(Int64(d))
        }
        return d.description
    }
}
