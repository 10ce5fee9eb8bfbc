import EggloguJSON

/// The sync metadata a record carries, read and checked but not yet trusted.
public struct RecordMetadata: Sendable, Equatable {
    public var updatedAt: Timestamp?
    public var deletedAt: Timestamp?
    public var origin: String?
    public var vector: VersionVector?
    public var generation: Int?
    /// The content hash of the version these fields name (``SyncField/contentHash``); a malformed one counts as absent.
    public var contentHash: String?

    /// Reads the metadata fields of `record`; `null` counts as absent.
    public init(of record: JSONObject) throws(RecordError) {
        let id = record["id"]?.stringValue
        let fields = MetadataFields(record)
        func timestamp(_ value: JSONValue?, _ field: String) throws(RecordError) -> Timestamp? {
            switch value {
            case nil, .null?: return nil
            case .string(let text)?:
                guard let t = Timestamp(iso8601: text) else {
                    throw RecordError(.badTimestamp, id: id, "\(field) \"\(text.prefix(64))\" is not an ISO-8601 date-time with an offset")
                }
                return t
            case let other?:
                throw RecordError(.badTimestamp, id: id, "\(field) is a \(other.typeName), not an ISO-8601 string")
            }
        }
        updatedAt = try timestamp(fields.updatedAt, SyncField.updatedAt)
        deletedAt = try timestamp(fields.deletedAt, SyncField.deletedAt)
        switch fields.origin {
        case nil, .null?: origin = nil
        case .string(let s)? where s.utf8.count <= 256 && !s.utf8.contains(0): origin = s
        default: throw RecordError(.badMetadata, id: id, "\(SyncField.origin) must be a string of at most 256 bytes, without NUL")
        }
        switch fields.vector {
        case nil, .null?: vector = nil
        case let value?:
            guard let v = VersionVector(json: value) else {
                throw RecordError(.badTimestamp, id: id, "\(SyncField.vector) must map device ids to ISO-8601 date-times")
            }
            vector = v
        }
        switch fields.generation {
        case nil, .null?: generation = nil
        case .number(let n)?:
            guard let g = n.intValue, g >= 0, g < 1 << 40 else {
                throw RecordError(.badMetadata, id: id, "\(SyncField.generation) must be a non-negative integer")
            }
            generation = g
        case let other?:
            throw RecordError(.badMetadata, id: id, "\(SyncField.generation) is a \(other.typeName), not an integer")
        }
        if case .string(let hash)? = fields.contentHash, ContentHash.isWellFormed(hash) {
            contentHash = hash
        }
    }

    /// The metadata fields' values, found in one pass over the record's keys.
    private struct MetadataFields {
        var updatedAt: JSONValue?
        var deletedAt: JSONValue?
        var origin: JSONValue?
        var vector: JSONValue?
        var generation: JSONValue?
        var contentHash: JSONValue?

        init(_ record: JSONObject) {
            for (key, value) in record.entries where key.utf8.first == UInt8(ascii: "_") {
                switch key {
                case SyncField.updatedAt: updatedAt = value
                case SyncField.deletedAt: deletedAt = value
                case SyncField.origin: origin = value
                case SyncField.vector: vector = value
                case SyncField.generation: generation = value
                case SyncField.contentHash: contentHash = value
                default: break
                }
            }
        }
    }

    /// Whether this names a version made by the sync layer: origin, stamp and a vector that includes it.
    ///
    /// Copies edited outside the sync layer (by the app) fail this, because the app
    /// may touch `_updatedAt` but keeps the old origin and vector.
    public var describesSyncedVersion: Bool {
        guard let updatedAt, let origin, let vector else { return false }
        return vector[origin] == updatedAt
    }

    /// The latest timestamp mentioned anywhere in the metadata.
    public var latestTimestamp: Timestamp? {
        [updatedAt, deletedAt, vector?.maximum].compactMap { $0 }.max()
    }
}
