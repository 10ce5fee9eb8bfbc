import EggloguCore
import EggloguJSON
import GRDB

/// A row of the `record` table without its body: what merge decisions need.
struct StoredRecord {
    let collection: String
    let id: String
    let info: VersionInfo
    let seq: Int64
    let dirty: Bool

    /// The columns ``fetch(_:collection:id:)`` reads, by position.
    static let columns = "collection, id, hash, updated_at, deleted_at, origin, vv, gen, seq, dirty"

    /// The stored row of `collection/id` (a merge reads one per record, so without GRDB's rows).
    static func fetch(_ db: Database, collection: String, id: String) throws -> StoredRecord? {
        try fetch(RawStatement(db.cachedStatement(sql: lookupSQL)), collection: collection, id: id)
    }

    static let lookupSQL = "SELECT \(columns) FROM record WHERE collection = ? AND id = ?"

    /// The stored row of `collection/id`, read with a statement of ``lookupSQL``.
    static func fetch(_ statement: RawStatement, collection: String, id: String) throws -> StoredRecord? {
        statement.reset()
        defer { statement.reset() }
        try statement.bind(1, collection)
        try statement.bind(2, id)
        guard try statement.step() else { return nil }
        return StoredRecord(
            collection: collection,
            id: id,
            info: VersionInfo(
                updatedAt: Timestamp(milliseconds: statement.int64(3)),
                deletedAt: statement.isNull(4) ? nil : Timestamp(milliseconds: statement.int64(4)),
                origin: statement.text(5),
                vector: try VectorColumn.decode(statement.text(6)),
                generation: Int(statement.int64(7)),
                contentHash: statement.text(2)
            ),
            seq: statement.int64(8),
            dirty: statement.int64(9) != 0
        )
    }

    static func body(_ db: Database, collection: String, id: String) throws -> JSONObject {
        let statement = try db.cachedStatement(sql: "SELECT body FROM record WHERE collection = ? AND id = ?")
        guard let text = try String.fetchOne(statement, arguments: [collection, id]) else {
            throw ReplicaError(.notFound, "no record \(collection)/\(id)")
        }
        return try parseBody(text)
    }

    static func parseBody(_ text: String) throws -> JSONObject {
        guard case .object(let object) = try JSONParser().parse(text) else {
            throw ReplicaError(.unreadable, "a stored record is not a JSON object")
        }
        return object
    }

    /// The full version stored for `collection/id`.
    static func version(_ db: Database, collection: String, id: String) throws -> RecordVersion? {
        let statement = try db.cachedStatement(sql: "SELECT body FROM record WHERE collection = ? AND id = ?")
        guard let text = try String.fetchOne(statement, arguments: [collection, id]) else { return nil }
        return try RecordVersion(record: .object(parseBody(text)))
    }
}

/// Version vectors in a column: compact JSON `{"device": milliseconds}` with sorted keys.
public enum VectorColumn {
    /// The column text of `vector`.
    public static func encode(_ vector: VersionVector) -> String {
        if vector.entries.isEmpty { return "{}" }
        var writer = JSONWriter(reservingCapacity: 64)
        var first = true
        for (device, stamp) in vector.sortedEntries {
            writer.writeKey(device, first: first)
            first = false
            writer.writeInteger(stamp.milliseconds)
        }
        writer.appendByte(UInt8(ascii: "}"))
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The vector a column holds.
    public static func decode(_ text: String) throws -> VersionVector {
        guard case .object(let object) = try JSONParser().parse(text) else {
            throw ReplicaError(.unreadable, "a stored version vector is not an object")
        }
        var entries: [String: Timestamp] = [:]
        for (device, value) in object {
            guard let ms = value.numberValue.flatMap({ Int64($0.literal) }) else {
                throw ReplicaError(.unreadable, "a stored version vector holds a non-integer")
            }
            entries[device] = Timestamp(milliseconds: ms)
        }
        return VersionVector(entries)
    }
}
