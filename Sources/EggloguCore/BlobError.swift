/// Why a blob cannot be imported, with the JSON path of the offending value.
public struct BlobError: Error, Sendable, CustomStringConvertible {
    /// A JSONPath-like location such as `$.flocks[3]._updatedAt`.
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
