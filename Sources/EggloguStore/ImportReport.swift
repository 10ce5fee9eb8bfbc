/// Options for ``Replica/importBlob(_:options:)``.
public struct ImportOptions: Sendable {
    /// Whose blob this is.
    public enum Policy: Sendable, Equatable {
        /// The replica's own device imports the app's blob.
        case replica
        /// A device that predates the sync protocol pushes its blob to a server (the legacy
        /// endpoint). Its changed records are its edits, stamped with server time; records it
        /// lacks are never deleted, because a stale device must not wipe other devices' work.
        case legacyPush(device: String)
    }

    public var policy: Policy
    /// Also soft-delete live records (from any device) that the blob lacks, in the collections it has.
    public var prune = false
    /// Where the blob came from, remembered in the replica's status.
    public var source: String?
    /// Told `(records done, records in the blob)` every ``progressInterval`` records and at the
    /// end, from inside the import's transaction: it must return at once.
    public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?

    /// Records between two calls of ``progress``.
    public static let progressInterval = 2_000

    public init(
        policy: Policy = .replica,
        prune: Bool = false,
        source: String? = nil,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) {
        self.policy = policy
        self.prune = prune
        self.source = source
        self.progress = progress
    }
}

/// What an import did, record by record.
public struct ImportReport: Sendable, Equatable {
    /// Records the replica had never seen.
    public var added = 0
    /// Records changed since the previous import, stamped now.
    public var updated = 0
    /// Records identical to the replica's.
    public var unchanged = 0
    /// Records whose copy in the blob is older than the replica's: left alone.
    public var stale = 0
    /// Records soft-deleted because the blob no longer has them.
    public var deleted = 0
    /// Conflict-archive entries filed.
    public var conflicts = 0
    /// Timestamps more than the allowed skew ahead, clamped.
    public var clamped = 0

    public init() {}

    /// Every record the blob held.
    public var records: Int { added + updated + unchanged + stale }
}
