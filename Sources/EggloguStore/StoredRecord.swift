import EggloguCore
import EggloguJSON
import GRDB

/// A row of the `record` table without its body: what merge decisions need.
struct StoredRecord: FetchableRecord {
    let collection: String
    let id: String
    let info: VersionInfo
    let seq: Int64
    let dirty: Bool

    static let columns = "collection, id, hash, updated_at, deleted_at, origin, vv, gen, seq, dirty"

    init(row: Row) throws {
        collection = row["collection"]
        id = row["id"]
        let deletedAt: Int64? = row["deleted_at"]
        info = VersionInfo(
            updatedAt: Timestamp(milliseconds: row["updated_at"]),
            deletedAt: deletedAt.map(Timestamp.init(milliseconds:)),
            origin: row["origin"],
            vector: try VectorColumn.decode(row["vv"]),
            generation: row["gen"],
            contentHash: row["hash"]
        )
        seq = row["seq"]
        dirty = row["dirty"]
    }

    static func fetch(_ db: Database, collection: String, id: String) throws -> StoredRecord? {
        let statement = try db.cachedStatement(
            sql: "SELECT \(columns) FROM record WHERE collection = ? AND id = ?"
        )
        return try StoredRecord.fetchOne(statement, arguments: [collection, id])
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
        var writer = JSONWriter()
        writer.appendRaw("{")
        for (n, entry) in vector.entries.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
            if n > 0 { writer.appendRaw(",") }
            writer.writeString(entry.key)
            writer.appendRaw(":")
            writer.appendRaw(String(entry.value.milliseconds))
        }
        writer.appendRaw("}")
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
