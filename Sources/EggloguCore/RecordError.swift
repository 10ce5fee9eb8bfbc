/// Why a record (or conflict-archive entry) was refused.
public struct RecordError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why a record was refused, named as the sync protocol reports it (`reason.rawValue`): the
    /// one vocabulary of the store, the server's answers and the agent.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// A reason read from the wire, known or not (a newer server may send new ones).
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Not an error: a higher version is stored, and the answer brings it back.
        public static var superseded: Reason { Reason("superseded") }

        /// The element is not a JSON object.
        public static var notObject: Reason { Reason("not-object") }
        /// The record has no `id`, or an empty one.
        public static var missingID: Reason { Reason("missing-id") }
        /// The `id` breaks a rule: too long, a control character, not a string or an integer.
        public static var badID: Reason { Reason("bad-id") }
        /// `_updatedAt`, `_deletedAt` or a vector entry is not an ISO-8601 instant.
        public static var badTimestamp: Reason { Reason("bad-timestamp") }
        /// A timestamp lies further ahead than the allowed clock skew.
        public static var timestampInFuture: Reason { Reason("timestamp-in-future") }
        /// Other sync metadata (`_syncOrigin`, `_syncGen`, an archive entry's fields) is malformed.
        public static var badMetadata: Reason { Reason("bad-metadata") }
        /// The collection name is not acceptable.
        public static var badCollection: Reason { Reason("bad-collection") }

        public var description: String { rawValue }
    }

    public let reason: Reason
    /// The record id, when there is one.
    public let id: String?
    /// What exactly is wrong, for people.
    public let message: String

    public init(_ reason: Reason, id: String? = nil, _ message: String) {
        self.reason = reason
        self.id = id
        self.message = message
    }

    public var description: String { message }
}
