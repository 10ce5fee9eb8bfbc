import EggloguCore
import EggloguJSON

/// How ``Replica/merge(_:options:)`` treats incoming records.
public struct RemoteMergeOptions: Sendable {
    /// The origin assumed for records without `_syncOrigin` (the pushing device, on a server).
    public var defaultOrigin = ""
    /// Refuse records stamped further ahead than the allowed skew (a server does; a
    /// device trusts the server, which checked already).
    public var rejectsFutureTimestamps = false
    /// Whether the records come from upstream (already there) or from a peer this
    /// replica serves (a server's view of a push).
    public var fromUpstream = true

    public init(defaultOrigin: String = "", rejectsFutureTimestamps: Bool = false, fromUpstream: Bool = true) {
        self.defaultOrigin = defaultOrigin
        self.rejectsFutureTimestamps = rejectsFutureTimestamps
        self.fromUpstream = fromUpstream
    }
}

/// What merging a batch of remote records did.
public struct RemoteMergeReport: Sendable, Equatable {
    public struct Rejection: Sendable, Equatable {
        public let collection: String
        public let id: String?
        public let reason: RecordError.Reason
        public let message: String

        public init(collection: String, id: String?, reason: RecordError.Reason, message: String) {
            self.collection = collection
            self.id = id
            self.reason = reason
            self.message = message
        }
    }

    /// Records merged (stored, already present, or superseded).
    public var accepted = 0
    /// Records refused, with the reason.
    public var rejected: [Rejection] = []
    /// Records that lost to a higher stored version, and archive entries the store knew better.
    public var superseded: [RecordRef] = []
    /// Rows written, conflict entries included.
    public var changed = 0
    /// Conflict entries filed.
    public var conflicts = 0
    /// Rows the merge left to be pushed (conflict entries filed or joined here).
    public var queued = 0

    public init() {}
}

/// A record named by its collection and id.
public struct RecordRef: Sendable, Hashable {
    public let collection: String
    public let id: String

    public init(collection: String, id: String) {
        self.collection = collection
        self.id = id
    }
}
