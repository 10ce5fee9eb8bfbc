import EggloguCore
import GRDB

/// One changed record as it travels: its collection, its change-sequence number and its JSON.
public struct Change: Sendable, Equatable {
    public let collection: String
    public let id: String
    public let seq: Int64
    /// The record with its sync metadata, as compact JSON.
    public let body: String
}

extension Replica {
    /// Changes with a sequence number above `seq`, oldest first, keyset-paginated.
    ///
    /// Deletions and conflict-archive entries are changes like any other.
    public func changes(after seq: Int64, limit: Int) throws -> (changes: [Change], hasMore: Bool) {
        try read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT collection, id, seq, body FROM record WHERE seq > ? ORDER BY seq LIMIT ?"),
                arguments: [seq, limit + 1])
            let page = rows.prefix(limit).map { Change(collection: $0[0], id: $0[1], seq: $0[2], body: $0[3]) }
            return (page, rows.count > limit)
        }
    }

    /// Local changes not yet pushed, oldest first.
    public func unpushed(limit: Int) throws -> [Change] {
        try read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT collection, id, seq, body FROM record WHERE dirty = 1 ORDER BY seq LIMIT ?"),
                arguments: [limit]
            ).map { Change(collection: $0[0], id: $0[1], seq: $0[2], body: $0[3]) }
        }
    }

    /// Marks pushed changes as delivered, unless the record changed again since.
    public func markPushed(_ changes: [Change]) throws {
        try write { transaction in
            let statement = try transaction.db.cachedStatement(
                sql: "UPDATE record SET dirty = 0 WHERE collection = ? AND id = ? AND seq = ?")
            for change in changes {
                try statement.execute(arguments: [change.collection, change.id, change.seq])
            }
        }
    }

    /// The newest change-sequence number (0 for an empty replica).
    public func headSequence() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record") ?? 0 }
    }
}
