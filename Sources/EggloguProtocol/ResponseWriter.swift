import EggloguJSON

/// Writes a sync response around records that are already JSON text, so a
/// server never re-parses what it stored.
public struct SyncResponseWriter: Sendable {
    private var writer = JSONWriter(reservingCapacity: 64 << 10)
    private var currentCollection: String?
    private var firstGroup = true
    private var firstRecord = true

    public init() {
        writer.appendRaw("{\"changes\":[")
    }

    /// Appends a record (its stored JSON text) to the changes, grouping consecutive records of one collection.
    public mutating func append(collection: String, record: some Sequence<UInt8>) {
        if collection != currentCollection {
            if currentCollection != nil { writer.appendRaw("]}") }
            if !firstGroup { writer.appendRaw(",") }
            firstGroup = false
            writer.appendRaw("{\"collection\":")
            writer.writeString(collection)
            writer.appendRaw(",\"records\":[")
            currentCollection = collection
            firstRecord = true
        }
        if !firstRecord { writer.appendRaw(",") }
        firstRecord = false
        writer.appendRaw(record)
    }

    /// Closes the document with the remaining fields; `rejectedCount` counts rejections beyond those listed.
    public mutating func finish(
        cursor: Cursor, hasMore: Bool, serverTime: String, accepted: Int? = nil, rejected: [Rejection]? = nil, rejectedCount: Int? = nil
    ) -> [UInt8] {
        if currentCollection != nil { writer.appendRaw("]}") }
        writer.appendRaw("],\"cursor\":")
        writer.writeString(cursor.description)
        writer.appendRaw(",\"hasMore\":")
        writer.appendRaw(hasMore ? "true" : "false")
        writer.appendRaw(",\"serverTime\":")
        writer.writeString(serverTime)
        if let accepted {
            writer.appendRaw(",\"accepted\":\(accepted)")
        }
        if let rejected {
            writer.appendRaw(",\"rejected\":")
            writer.write(.array(rejected.map { r in
                ["collection": .string(r.collection), "id": r.id.map(JSONValue.string) ?? .null, "reason": .string(r.reason)]
            }))
        }
        if let rejectedCount {
            writer.appendRaw(",\"rejectedCount\":\(rejectedCount)")
        }
        writer.appendRaw("}")
        return writer.bytes
    }
}
