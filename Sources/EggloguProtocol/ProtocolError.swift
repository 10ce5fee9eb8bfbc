/// A request or response that does not follow the sync protocol.
public struct ProtocolError: Error, Sendable, CustomStringConvertible {
    /// The error code sent in `{"error": code, "message": text}`.
    public let code: String
    public let message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// A body that is JSON but not of the expected shape.
    public static func badRequest(_ message: String) -> ProtocolError { ProtocolError("bad-request", message) }
}
