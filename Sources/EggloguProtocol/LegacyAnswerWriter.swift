import EggloguJSON

/// Writes the answer of `POST /api/v1/sync` in the shape the app's web client reads, around records
/// that are already JSON text.
///
/// Each record gains `_syncHash`, the content hash of its version: the client sends it back
/// unchanged, which tells an untouched copy from an edit.
public struct LegacyAnswerWriter: Sendable {
    private var groups: [String: JSONWriter] = [:]
    private var farm: JSONObject?

    public init() {}

    /// Appends a record (its stored JSON text, an object) to an entity.
    public mutating func append(entity: String, record: some BidirectionalCollection<UInt8>, contentHash: String) {
        guard record.last == UInt8(ascii: "}") else { return }
        if groups[entity] == nil {
            groups[entity] = JSONWriter(reservingCapacity: 4 << 10)
        } else {
            groups[entity]!.appendRaw(",")
        }
        groups[entity]!.appendRaw(record.dropLast())
        groups[entity]!.appendRaw(",\"_syncHash\":")
        groups[entity]!.writeString(contentHash)
        groups[entity]!.appendRaw("}")
    }

    /// Sets the farm profile: sent as the one farm-shaped object of `farms`.
    public mutating func setFarm(_ fields: JSONObject) {
        farm = fields
    }

    /// The whole answer. `conflicts` are the lines the client may show; `conflict_count` is their number.
    public func finish(synced: Int, conflicts: [String], serverNow: String, syncCursor: String) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: groups.values.reduce(256) { $0 + $1.bytes.count + 32 })
        writer.appendRaw("{\"synced\":\(synced),\"conflicts\":")
        writer.write(.array(conflicts.map(JSONValue.string)))
        writer.appendRaw(",\"conflict_count\":\(conflicts.count),\"server_changes\":{")
        var first = true
        if let farm {
            writer.appendRaw("\"farms\":[")
            writer.write(.object(farm))
            writer.appendRaw("]")
            first = false
        }
        for (entity, group) in groups.sorted(by: { $0.key < $1.key }) {
            if !first { writer.appendRaw(",") }
            first = false
            writer.writeString(entity)
            writer.appendRaw(":[")
            writer.appendRaw(group.bytes)
            writer.appendRaw("]")
        }
        writer.appendRaw("},\"server_now\":")
        writer.writeString(serverNow)
        writer.appendRaw(",\"sync_cursor\":")
        writer.writeString(syncCursor)
        writer.appendRaw("}")
        return writer.bytes
    }
}
