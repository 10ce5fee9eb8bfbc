import EggloguJSON

/// The JSON body of a push, ready to send.
public struct PushBody: Sendable {
    /// The request body: `{"farmId":…,"deviceId":…,"since":…,"changes":[…]}`.
    public let bytes: [UInt8]
    /// Records in the body.
    public let count: Int
}

/// Writes a push around records that are already JSON text: an agent sends its stored records
/// without parsing them again.
public struct PushBodyWriter: Sendable {
    private var changes: ChangeListWriter

    /// Starts the body of `device`'s push to `farm`, continuing from `since`.
    public init(farmID: String, deviceID: String, since: String?) {
        var head = JSONWriter()
        head.appendRaw("{\"farmId\":")
        head.writeString(farmID)
        head.appendRaw(",\"deviceId\":")
        head.writeString(deviceID)
        head.appendRaw(",\"since\":")
        if let since { head.writeString(since) } else { head.appendRaw("null") }
        head.appendRaw(",")
        changes = ChangeListWriter(after: head)
    }

    /// Appends a record (its stored JSON text), grouping consecutive records of one collection.
    public mutating func append(collection: String, record: some Sequence<UInt8>) {
        changes.append(collection: collection, record: record)
    }

    /// The finished body.
    public func finish() -> PushBody {
        var changes = self.changes
        var writer = changes.close()
        writer.appendRaw("}")
        return PushBody(bytes: writer.bytes, count: changes.count)
    }
}
