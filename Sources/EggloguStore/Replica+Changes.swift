import EggloguCore
import GRDB

/// One changed record as it travels: its collection, its change-sequence number and its JSON.
public struct Change: Sendable, Equatable, FetchableRecord {
    public let collection: String
    public let id: String
    public let seq: Int64
    /// The record with its sync metadata, as compact JSON.
    public let body: String

    public init(collection: String, id: String, seq: Int64, body: String) {
        self.collection = collection
        self.id = id
        self.seq = seq
        self.body = body
    }

    public init(row: Row) {
        collection = row["collection"]
        id = row["id"]
        seq = row["seq"]
        body = row["body"]
    }
}

/// A page of the change feed.
public struct ChangePage: Sendable, Equatable {
    public var changes: [Change]
    /// Whether changes after ``cursor`` remain.
    public var hasMore: Bool
    /// Where the next page starts: the last change of this page, or the head when nothing remains.
    public var cursor: Int64
    /// The newest sequence number when more pages follow: how far the reader has to go.
    public var head: Int64?

    public init(changes: [Change], hasMore: Bool, cursor: Int64, head: Int64? = nil) {
        self.changes = changes
        self.hasMore = hasMore
        self.cursor = cursor
        self.head = head
    }
}

extension Replica {
    /// Changes with a sequence number above `seq`, oldest first, keyset-paginated.
    ///
    /// Deletions and conflict-archive entries are changes like any other.
    ///
    /// - Throws: ``ReplicaError/Code/cursorAhead`` when `seq` lies beyond the newest change;
    ///   ``ReplicaError/Code/historyPurged`` when it lies before purged tombstones.
    public func changes(after seq: Int64, limit: Int) async throws -> ChangePage {
        try await read { db in try Replica.page(db, after: seq, limit: limit) }
    }

    /// - Parameter excluded: records left out of the page while their sequence is at most the one given.
    static func page(_ db: Database, after seq: Int64, limit: Int, excluding excluded: [RecordRef: Int64] = [:]) throws -> ChangePage {
        try checkNotPurged(db, after: seq)
        let rows = try Change.fetchAll(
            db.cachedStatement(sql: "SELECT collection, id, seq, body FROM record WHERE seq > ? ORDER BY seq LIMIT ?"),
            arguments: [seq, limit + 1]
        )
        let scanned = Array(rows.prefix(limit))
        let hasMore = rows.count > limit
        let newest = try Replica.head(db)
        guard hasMore || seq <= newest else { throw ReplicaError.cursorAhead(seq, head: newest) }
        let changes =
            excluded.isEmpty
            ? scanned
            : scanned.filter { change in
                guard let echoedAt = excluded[RecordRef(collection: change.collection, id: change.id)] else { return true }
                return change.seq > echoedAt
            }
        return ChangePage(changes: changes, hasMore: hasMore, cursor: hasMore ? scanned.last!.seq : newest, head: hasMore ? newest : nil)
    }

    /// The sequence number just before the first change this replica received at or after `time`.
    public func sequence(receivedBefore time: Timestamp) async throws -> Int64 {
        try await read { db in try Replica.sequence(db, receivedBefore: time) }
    }

    static func sequence(_ db: Database, receivedBefore time: Timestamp) throws -> Int64 {
        if let first = try Int64.fetchOne(db, sql: "SELECT min(seq) FROM change_time WHERE at >= ?", arguments: [time.milliseconds]) {
            return first - 1
        }
        return try Replica.head(db)
    }

    /// Local changes not yet pushed with a sequence number above `seq`, oldest first.
    public func unpushed(after seq: Int64 = 0, limit: Int) async throws -> [Change] {
        try await read { db in try Replica.unpushed(db, after: seq, limit: limit) }
    }

    static func unpushed(_ db: Database, after seq: Int64, limit: Int) throws -> [Change] {
        try Change.fetchAll(
            db.cachedStatement(sql: "SELECT collection, id, seq, body FROM record WHERE dirty = 1 AND seq > ? ORDER BY seq LIMIT ?"),
            arguments: [seq, limit]
        )
    }

    /// Where a push starts, read in one snapshot (one trip to a store thread, not two): the
    /// cursor of the last page applied from the server, and the first `limit` unpushed changes.
    public func pushStart(limit: Int) async throws -> (cursor: String?, changes: [Change]) {
        try await read { db in (try Meta.get(db, .upstreamCursor), try Replica.unpushed(db, after: 0, limit: limit)) }
    }

    /// Whether local changes wait to be pushed, read on the calling thread with no hop to a store
    /// thread: for a thread of the caller's own that must react to a write within a fraction
    /// of a millisecond. Never call it from the cooperative pool; it blocks on SQLite.
    public func hasUnpushedChangesOnThisThread() throws -> Bool {
        do {
            return try pool.read { db in
                try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM record WHERE dirty = 1 LIMIT 1")) ?? false
            }
        } catch {
            throw ReplicaError(mapping: error, path: path)
        }
    }

    /// How many local changes wait to be pushed (an index count).
    public func unpushedCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM record WHERE dirty = 1")) ?? 0 }
    }

    /// Marks pushed changes as delivered, unless the record changed again since.
    public func markPushed(_ changes: [Change]) async throws {
        try await write { transaction in try transaction.markPushed(changes) }
    }

    /// The newest change-sequence number (0 for an empty replica).
    public func headSequence() async throws -> Int64 {
        try await read { db in try Replica.head(db) }
    }
}

extension ReplicaTransaction {
    mutating func markPushed(_ changes: [Change]) throws {
        let statement = try db.cachedStatement(sql: "UPDATE record SET dirty = 0 WHERE collection = ? AND id = ? AND seq = ?")
        for change in changes {
            try statement.execute(arguments: [change.collection, change.id, change.seq])
        }
    }
}

extension ReplicaError {
    /// A position beyond the store's newest change.
    public static func cursorAhead(_ seq: Int64, head: Int64) -> ReplicaError {
        ReplicaError(.cursorAhead, "position \(seq) is beyond this replica's newest change (\(head))")
    }
}
