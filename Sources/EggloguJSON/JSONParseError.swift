/// Why a JSON document could not be parsed, and where.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; compare with the static members, e.g. `error.kind == .tooDeep`.
    public struct Kind: Sendable, Equatable {
        private enum Code: Sendable, Equatable {
            case unexpectedEnd, unexpectedCharacter, invalidNumber, invalidEscape
            case invalidUTF8, controlCharacter, tooDeep, tooManyValues, trailingCharacters
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The input ended inside a value: it is truncated.
        public static var unexpectedEnd: Kind { Kind(.unexpectedEnd) }
        /// A byte that cannot start or continue a value here.
        public static var unexpectedCharacter: Kind { Kind(.unexpectedCharacter) }
        /// A malformed number literal.
        public static var invalidNumber: Kind { Kind(.invalidNumber) }
        /// A malformed escape sequence in a string.
        public static var invalidEscape: Kind { Kind(.invalidEscape) }
        /// A string that is not valid UTF-8.
        public static var invalidUTF8: Kind { Kind(.invalidUTF8) }
        /// An unescaped control character inside a string.
        public static var controlCharacter: Kind { Kind(.controlCharacter) }
        /// Arrays and objects nested deeper than the parser allows.
        public static var tooDeep: Kind { Kind(.tooDeep) }
        /// A document holding more values than the parser allows.
        public static var tooManyValues: Kind { Kind(.tooManyValues) }
        /// More input after the document ended.
        public static var trailingCharacters: Kind { Kind(.trailingCharacters) }
    }

    public let kind: Kind
    /// Byte offset (0-based) of the problem.
    public let offset: Int
    /// Line (1-based) of the problem.
    public let line: Int
    /// Column (1-based, in bytes) of the problem.
    public let column: Int
    let detail: String

    init(_ kind: Kind, _ detail: String, offset: Int, in bytes: UnsafeBufferPointer<UInt8>) {
        self.kind = kind
        self.detail = detail
        self.offset = offset
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        self.line = line
        self.column = offset - lineStart + 1
    }

    public var description: String {
        "\(detail) at line \(line), column \(column) (byte \(offset))"
    }
}
