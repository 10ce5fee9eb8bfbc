import EggloguCore
import EggloguJSON

/// One pushed record, checked without touching any store: a version of a record, or an entry of
/// the conflict archive. Every store checks pushes through this, so they refuse the same records.
public enum IncomingRecord: Sendable {
    case version(RecordVersion)
    case entry(ConflictEntry)

    /// Checks `value`, pushed into `collection`.
    ///
    /// - Parameters:
    ///   - kind: the collection's kind, or nil when its name is not acceptable.
    ///   - limit: the latest stamp accepted when the options reject future timestamps.
    public init(
        _ value: JSONValue,
        collection: String,
        kind: CollectionName.Kind?,
        options: RemoteMergeOptions,
        limit: Timestamp
    ) throws(RecordError) {
        guard let kind else {
            throw RecordError(
                .badCollection,
                id: value.objectValue?["id"]?.stringValue,
                "\(collection) is not a valid collection name"
            )
        }
        if kind == .conflictArchive {
            let entry = try ConflictEntry(record: value)
            if options.rejectsFutureTimestamps, entry.updatedAt > limit {
                throw RecordError(.timestampInFuture, id: entry.id, "conflict entry \(entry.id) is stamped after \(limit)")
            }
            self = .entry(entry)
            return
        }
        let version = try RecordVersion(record: value, defaultOrigin: options.defaultOrigin)
        if options.rejectsFutureTimestamps,
            version.info.updatedAt > limit || (version.info.vector.maximum ?? .epoch) > limit
        {
            throw RecordError(.timestampInFuture, id: version.id, "\(collection)/\(version.id) is stamped after \(limit)")
        }
        if kind == .auditLog && version.isDeleted {
            throw RecordError(.badMetadata, id: version.id, "auditLog entries cannot be deleted")
        }
        self = .version(version)
    }
}
