import EggloguCore
import EggloguJSON
import GRDB

/// A soft-deleted record, as `deleted` lists it for undo.
public struct DeletedRecord: Sendable, Equatable {
    /// The collection (`farm`, `settings` and values included: their records are fields).
    public let collection: String
    public let id: String
    public let deletedAt: Timestamp
    /// The device that deleted it.
    public let deletedBy: String
    /// The record's content as it was when deleted (what a restore brings back).
    public let content: JSONObject

    /// The entry as the API and `deleted --json` show it.
    public var json: JSONValue {
        [
            "collection": .string(collection), "id": .string(id), "deletedAt": .string(deletedAt.iso8601),
            "deletedBy": .string(deletedBy), "record": .object(content),
        ]
    }
}

extension Replica {
    /// Soft-deleted records, newest deletion first, deleted at or after `since`.
    public func deleted(since: Timestamp = .epoch, limit: Int = 1_000) async throws -> [DeletedRecord] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT collection, id, deleted_at, origin, body FROM record INDEXED BY record_deleted
                    WHERE deleted_at IS NOT NULL AND deleted_at >= ? AND collection NOT IN (?, ?)
                    ORDER BY deleted_at DESC, collection, id LIMIT ?
                    """,
                arguments: [since.milliseconds, CollectionName.conflictArchive, CollectionName.layout, max(0, limit)]
            )
            return try rows.map { row in
                let version = try RecordVersion(record: .object(StoredRecord.parseBody(row["body"])))
                return DeletedRecord(
                    collection: row["collection"],
                    id: row["id"],
                    deletedAt: Timestamp(milliseconds: row["deleted_at"]),
                    deletedBy: row["origin"],
                    content: version.content
                )
            }
        }
    }

    /// Undoes a soft delete: the record comes back with the content it had, one generation up,
    /// so the restore beats the deletion on every replica. For `farm` and `settings` the id is
    /// the field; a value takes no id (or is named as `deleted` lists it: `_syncValues` and its key).
    @discardableResult
    public func restore(_ name: String, id: String?) async throws -> RestoreOutcome {
        try await write { transaction in
            let collection: String
            let recordID: String
            if name == CollectionName.values, let id {
                (collection, recordID) = (name, id)  // as `deleted` lists a value
            } else {
                switch try self.target(name, in: transaction.db) {
                case .collection(let name), .singleton(let name):
                    guard let id else { throw ReplicaError(.badData, "restore \(name) needs an id") }
                    (collection, recordID) = (name, id)
                case .value(let key):
                    guard id == nil else { throw ReplicaError(.badData, "\(key) is a single value and takes no id") }
                    (collection, recordID) = (CollectionName.values, key)
                case .auditLog:
                    throw ReplicaError(.badData, "auditLog entries are never deleted")
                }
            }
            guard let current = try transaction.version(collection, recordID) else {
                throw ReplicaError(.notFound, "no record \(collection)/\(recordID)")
            }
            guard current.isDeleted else { return .alreadyLive }
            let version = LocalWrite.put(
                id: recordID,
                content: current.content,
                base: current.info,
                device: transaction.device,
                stamp: try transaction.stamp()
            )
            try transaction.apply(version, in: collection, source: .local)
            return .restored
        }
    }
}

/// What `restore` did.
public enum RestoreOutcome: String, Sendable, Equatable {
    case restored
    case alreadyLive = "already-live"
}
