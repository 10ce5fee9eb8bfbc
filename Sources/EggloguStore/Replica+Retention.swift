import EggloguCore
import GRDB

/// What one purge removed.
public struct PurgeReport: Sendable, Equatable {
    /// Tombstones removed.
    public var tombstones = 0
    /// Resolved conflict-archive entries removed.
    public var archiveEntries = 0
    /// The highest sequence number purged so far; cursors below it get `historyPurged`.
    public var purgedThrough: Int64 = 0

    public init(tombstones: Int = 0, archiveEntries: Int = 0, purgedThrough: Int64 = 0) {
        self.tombstones = tombstones
        self.archiveEntries = archiveEntries
        self.purgedThrough = purgedThrough
    }
}

extension Replica {
    /// Removes tombstones and resolved conflict-archive entries whose last change reached this
    /// replica before `horizon`, in one transaction. Unresolved conflicts are kept, whatever their
    /// age: they hold a version nobody has chosen about yet.
    ///
    /// A cursor below the highest purged sequence number then gets ``ReplicaError/Code/historyPurged``
    /// (``changes(after:limit:)``, ``mergePush(_:options:after:limit:)``).
    public func purge(receivedBefore horizon: Timestamp) async throws -> PurgeReport {
        try await write { transaction in
            let db = transaction.db
            let through = try Replica.sequence(db, receivedBefore: horizon)
            var report = PurgeReport(purgedThrough: try Replica.purgedThrough(db))
            let doomed = try Row.fetchAll(
                db,
                sql: """
                    SELECT collection, id, seq FROM record
                    WHERE seq <= ? AND (deleted_at IS NOT NULL
                        OR (collection = ? AND json_extract(body, '$.resolved') = 1))
                    """,
                arguments: [through, CollectionName.conflictArchive]
            )
            if !doomed.isEmpty { try Replica.holdSequence(db) }
            for row in doomed {
                let collection: String = row["collection"]
                let id: String = row["id"]
                let seq: Int64 = row["seq"]
                try db.execute(sql: "DELETE FROM record WHERE collection = ? AND id = ?", arguments: [collection, id])
                try db.execute(sql: "DELETE FROM field_history WHERE collection = ? AND id = ?", arguments: [collection, id])
                if collection == CollectionName.conflictArchive { report.archiveEntries += 1 } else { report.tombstones += 1 }
                report.purgedThrough = max(report.purgedThrough, seq)
            }
            if !doomed.isEmpty { try Meta.set(db, .purgedThrough, String(report.purgedThrough)) }
            try Meta.set(db, .lastPurge, transaction.wallClock.iso8601)
            return report
        }
    }

    /// When tombstones were last purged, if ever.
    public func lastPurge() async throws -> Timestamp? {
        try await read { db in try Meta.get(db, .lastPurge).flatMap(Timestamp.init(iso8601:)) }
    }

    /// The newest sequence number given out: the highest stored, or a higher one whose row is gone.
    static func head(_ db: Database) throws -> Int64 {
        let stored = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(seq) FROM record")) ?? 0
        let floor = try Meta.get(db, .sequenceFloor).flatMap { Int64($0) } ?? 0
        return max(stored, floor)
    }

    /// Called before rows are deleted: raises the floor to the current head, so the sequence goes
    /// on from there whatever the deleted rows held.
    static func holdSequence(_ db: Database) throws {
        try Meta.set(db, .sequenceFloor, String(try head(db)))
    }

    static func purgedThrough(_ db: Database) throws -> Int64 {
        try Meta.get(db, .purgedThrough).flatMap { Int64($0) } ?? 0
    }

    /// Refuses a cursor that may have missed a purged deletion. A cursor of 0 (a device starting
    /// from nothing) needs no deletions and is always served.
    static func checkNotPurged(_ db: Database, after seq: Int64) throws {
        guard seq > 0 else { return }
        let purged = try purgedThrough(db)
        guard seq < purged else { return }
        throw ReplicaError.historyPurged(seq, through: purged)
    }
}

extension ReplicaError {
    /// A position older than the deletions a store has forgotten.
    public static func historyPurged(_ seq: Int64, through purged: Int64) -> ReplicaError {
        ReplicaError(
            .historyPurged,
            "position \(seq) is older than the deletions this replica has forgotten (through \(purged)): start again from the full state"
        )
    }
}
