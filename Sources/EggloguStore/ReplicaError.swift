/// A failure of a replica operation, with a message fit to show the user.
public struct ReplicaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; compare with the static members.
    public struct Code: Sendable, Equatable {
        private enum Value: Sendable, Equatable {
            case badData, notFound, alreadyResolved, invalidName, noReplica, unreadable, busy, deviceMismatch, cannotOpen, diskFull, io
            case cursorAhead, historyPurged, migrationFailed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The input (a blob, a record, JSON) is malformed or inconsistent.
        public static var badData: Code { Code(.badData) }
        /// The named record or conflict does not exist.
        public static var notFound: Code { Code(.notFound) }
        /// The conflict was resolved already.
        public static var alreadyResolved: Code { Code(.alreadyResolved) }
        /// The collection name is not acceptable or is reserved.
        public static var invalidName: Code { Code(.invalidName) }
        /// There is no replica at the path and the operation does not create one.
        public static var noReplica: Code { Code(.noReplica) }
        /// The file is not a replica, or is damaged.
        public static var unreadable: Code { Code(.unreadable) }
        /// Another process holds the replica's write lock for too long.
        public static var busy: Code { Code(.busy) }
        /// The replica belongs to another device or farm than the configuration says.
        public static var deviceMismatch: Code { Code(.deviceMismatch) }
        /// The replica file cannot be opened or created (missing directory, permissions).
        public static var cannotOpen: Code { Code(.cannotOpen) }
        /// The disk holding the replica has no room left: nothing was written.
        public static var diskFull: Code { Code(.diskFull) }
        /// The file system failed.
        public static var io: Code { Code(.io) }
        /// A change-sequence position beyond this replica's newest change: it came from another
        /// history of the file (a copy restored without a new epoch).
        public static var cursorAhead: Code { Code(.cursorAhead) }
        /// A change-sequence position older than the tombstones this replica has purged: a
        /// device there may have missed deletions, so it must start again from the full state.
        public static var historyPurged: Code { Code(.historyPurged) }
        /// The schema could not be upgraded (a migration failed); the database is as it was.
        public static var migrationFailed: Code { Code(.migrationFailed) }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
