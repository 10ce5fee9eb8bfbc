import EggloguJSON

/// Writes the answer of `POST /api/v1/sync` in the shape the app's web client reads, around records
/// that are already JSON text, piece by piece so that a large answer can be streamed.
///
/// Call ``begin(synced:conflicts:conflictCount:)``, then ``farm(_:)`` at most once, then
/// ``append(entity:record:contentHash:)`` with the records grouped by entity, then
/// ``end(serverNow:syncCursor:)``; ``take()`` hands over what was written so far.
///
/// Each record gains `_syncHash`, the content hash of its version: the client sends it back
/// unchanged, which tells an untouched copy from an edit.
public struct LegacyAnswerWriter: Sendable {
    private var writer = JSONWriter(reservingCapacity: 64 << 10)
    private var entity: String?
    private var anyEntity = false

    public init() {}

    /// Opens the answer: `synced`, the `conflicts` lines the client may show, and their count
    /// (which may exceed the lines listed).
    public mutating func begin(synced: Int, conflicts: [String], conflictCount: Int) {
        writer.appendRaw("{\"synced\":\(synced),\"conflicts\":")
        writer.write(.array(conflicts.map(JSONValue.string)))
        writer.appendRaw(",\"conflict_count\":\(conflictCount),\"server_changes\":{")
    }

    /// The farm profile: the one farm-shaped object of `farms`.
    public mutating func farm(_ fields: JSONObject) {
        writer.appendRaw("\"farms\":[")
        writer.write(.object(fields))
        writer.appendRaw("]")
        anyEntity = true
    }

    /// Appends a record (its stored JSON text, an object) to an entity; records of one entity come together.
    public mutating func append(entity name: String, record: some BidirectionalCollection<UInt8>, contentHash: String) {
        guard record.last == UInt8(ascii: "}") else { return }
        if name != entity {
            if entity != nil { writer.appendRaw("]") }
            if anyEntity { writer.appendRaw(",") }
            writer.writeString(name)
            writer.appendRaw(":[")
            entity = name
            anyEntity = true
        } else {
            writer.appendRaw(",")
        }
        writer.appendRaw(record.dropLast())
        writer.appendRaw(",\"_syncHash\":")
        writer.writeString(contentHash)
        writer.appendRaw("}")
    }

    /// Closes the answer with the client's next `last_synced_at` and the delta protocol's cursor.
    public mutating func end(serverNow: String, syncCursor: String) {
        if entity != nil { writer.appendRaw("]") }
        writer.appendRaw("},\"server_now\":")
        writer.writeString(serverNow)
        writer.appendRaw(",\"sync_cursor\":")
        writer.writeString(syncCursor)
        writer.appendRaw("}")
    }

    /// How many bytes wait to be taken.
    public var pending: Int { writer.bytes.count }

    /// What was written since the last call.
    public mutating func take() -> [UInt8] {
        defer { writer.bytes.removeAll(keepingCapacity: true) }
        return writer.bytes
    }
}
