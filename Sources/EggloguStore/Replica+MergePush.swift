import EggloguCore
import EggloguJSON
import GRDB

/// What merging a device's push did, and the page of changes to answer it with.
public struct MergedPush: Sendable {
    public var report: RemoteMergeReport
    /// Changes after the device's cursor, without the versions it just pushed, plus the stored
    /// winners of anything it pushed that lost.
    public var page: ChangePage
    /// The newest sequence number once the push is merged.
    public var head: Int64
    /// The newest sequence number before it: the push's changes are the ones after this, up to ``head``.
    public var previousHead: Int64
    /// The push's own changes (those after ``previousHead``) when there are at most
    /// ``MergedPush/ownChangesLimit`` of them and the store read them in the merge's transaction;
    /// nil otherwise.
    public var ownChanges: ChangePage?

    /// The most changes a store reads into ``ownChanges``.
    public static let ownChangesLimit = 64

    public init(report: RemoteMergeReport, page: ChangePage, head: Int64, previousHead: Int64, ownChanges: ChangePage? = nil) {
        self.report = report
        self.page = page
        self.head = head
        self.previousHead = previousHead
        self.ownChanges = ownChanges
    }
}

extension Replica {
    /// Merges a device's push and reads the changes it has not seen, in one transaction, so the
    /// page and its cursor are consistent with the merge.
    ///
    /// - Parameters:
    ///   - batch: the pushed records by collection.
    ///   - options: how to treat them (a server passes the device as default origin and rejects future stamps).
    ///   - seq: the device's cursor.
    ///   - limit: the page size.
    public func mergePush(
        _ batch: [(collection: String, records: [JSONValue])],
        options: RemoteMergeOptions,
        after seq: Int64,
        limit: Int
    ) async throws -> MergedPush {
        try await write { transaction in
            let head = transaction.headSequence
            guard seq <= head else { throw ReplicaError.cursorAhead(seq, head: head) }
            // Before merging: a device that missed purged deletions would bring deleted records back.
            try Replica.checkNotPurged(transaction.db, after: seq)
            let merged = try transaction.merge(batch, options: options)
            var page = try Replica.page(transaction.db, after: seq, limit: limit, excluding: merged.echoed)
            let sent = Set(page.changes.map { RecordRef(collection: $0.collection, id: $0.id) })
            for ref in merged.report.superseded where !sent.contains(ref) {
                let change = try Change.fetchOne(
                    transaction.db.cachedStatement(sql: "SELECT collection, id, seq, body FROM record WHERE collection = ? AND id = ?"),
                    arguments: [ref.collection, ref.id]
                )
                if let change { page.changes.append(change) }
            }
            let changed = transaction.headSequence - head
            let own =
                (1...Int64(MergedPush.ownChangesLimit)).contains(changed)
                ? try Replica.page(transaction.db, after: head, limit: MergedPush.ownChangesLimit) : nil
            return MergedPush(report: merged.report, page: page, head: transaction.headSequence, previousHead: head, ownChanges: own)
        }
    }
}
