import EggloguJSON

/// Writes `"changes":[{"collection":…,"records":[…]},…]` around records that are already JSON
/// text: the part a push and an answer share.
struct ChangeListWriter: Sendable {
    private(set) var writer: JSONWriter
    private var currentCollection: String?
    private var firstGroup = true
    private var firstRecord = true
    /// Records appended.
    private(set) var count = 0

    /// Continues `writer`, which has written what comes before the list.
    init(after writer: JSONWriter) {
        self.writer = writer
        self.writer.appendRaw("\"changes\":[")
    }

    /// Appends a record (its JSON text), grouping consecutive records of one collection.
    mutating func append(collection: String, record: some Sequence<UInt8>) {
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
        count += 1
    }

    /// Closes the list; the caller writes what follows.
    mutating func close() -> JSONWriter {
        if currentCollection != nil { writer.appendRaw("]}") }
        writer.appendRaw("]")
        currentCollection = nil
        return writer
    }
}
