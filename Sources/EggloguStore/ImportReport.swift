/// Options for ``Replica/importBlob(_:options:)``.
public struct ImportOptions: Sendable {
    /// Also soft-delete live records (from any device) that the blob lacks, in the collections it has.
    public var prune = false
    /// Where the blob came from, remembered in the replica's status.
    public var source: String?

    public init(prune: Bool = false, source: String? = nil) {
        self.prune = prune
        self.source = source
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
