import EggloguJSON

/// Writes a sync response around records that are already JSON text, so a
/// server never re-parses what it stored.
public struct SyncResponseWriter: Sendable {
    private var changes: ChangeListWriter

    public init() {
        var head = JSONWriter(reservingCapacity: 64 << 10)
        head.appendRaw("{")
        changes = ChangeListWriter(after: head)
    }

    /// Appends a record (its stored JSON text) to the changes, grouping consecutive records of one collection.
    public mutating func append(collection: String, record: some Sequence<UInt8>) {
        changes.append(collection: collection, record: record)
    }

    /// Closes the document with the remaining fields; `rejectedCount` counts rejections beyond those
    /// listed, `head` is the farm's newest sequence number when more pages follow.
    public mutating func finish(
        cursor: Cursor,
        hasMore: Bool,
        head: Int64? = nil,
        serverTime: String,
        accepted: Int? = nil,
        rejected: [Rejection]? = nil,
        rejectedCount: Int? = nil
    ) -> [UInt8] {
        var writer = changes.close()
        writer.appendRaw(",\"cursor\":")
        writer.writeString(cursor.description)
        writer.appendRaw(",\"hasMore\":")
        writer.appendRaw(hasMore ? "true" : "false")
        if let head { writer.appendRaw(",\"head\":\(head)") }
        writer.appendRaw(",\"serverTime\":")
        writer.writeString(serverTime)
        if let accepted {
            writer.appendRaw(",\"accepted\":\(accepted)")
        }
        if let rejected {
            writer.appendRaw(",\"rejected\":")
            writer.write(
                .array(
                    rejected.map { r in
                        ["collection": .string(r.collection), "id": r.id.map(JSONValue.string) ?? .null, "reason": .string(r.reason.rawValue)]
                    }
                )
            )
        }
        if let rejectedCount {
            writer.appendRaw(",\"rejectedCount\":\(rejectedCount)")
        }
        writer.appendRaw("}")
        return writer.bytes
    }
}
