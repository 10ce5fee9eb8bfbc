import EggloguJSON

/// Everything merge needs to know about a version, without its content.
public struct VersionInfo: Sendable, Hashable {
    public var updatedAt: Timestamp
    public var deletedAt: Timestamp?
    public var origin: String
    public var vector: VersionVector
    public var generation: Int
    public var contentHash: String

    public init(
        updatedAt: Timestamp,
        deletedAt: Timestamp?,
        origin: String,
        vector: VersionVector,
        generation: Int,
        contentHash: String
    ) {
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.origin = origin
        self.vector = vector.advanced(origin, to: updatedAt)
        self.generation = generation
        self.contentHash = contentHash
    }

    public var isDeleted: Bool { deletedAt != nil }

    /// Whether both describe the same version: (origin, `_updatedAt`).
    public func isSameVersion(as other: VersionInfo) -> Bool {
        origin == other.origin && updatedAt == other.updatedAt
    }

    /// The total order every replica uses: (generation, deleted-beats-live, `_updatedAt`, content hash, origin).
    public func outranks(_ other: VersionInfo) -> Bool {
        if generation != other.generation { return generation > other.generation }
        if isDeleted != other.isDeleted { return isDeleted }
        if updatedAt != other.updatedAt { return updatedAt > other.updatedAt }
        if contentHash != other.contentHash { return contentHash > other.contentHash }
        return origin > other.origin
    }
}

/// One version of one record: the app's fields plus sync metadata.
public struct RecordVersion: Sendable, Equatable {
    /// The record id.
    public let id: String
    /// The app's fields, including `id`, in their original order, without sync metadata.
    public let content: JSONObject
    public let info: VersionInfo

    /// Builds a version; `content` loses any metadata fields it carries.
    public init(
        id: String,
        content: JSONObject,
        updatedAt: Timestamp,
        deletedAt: Timestamp? = nil,
        origin: String,
        vector: VersionVector = VersionVector(),
        generation: Int = 0
    ) {
        let clean = content.filter(keys: { !SyncField.isMetadata($0) })
        self.id = id
        self.content = clean
        self.info = VersionInfo(
            updatedAt: updatedAt,
            deletedAt: deletedAt,
            origin: origin,
            vector: vector,
            generation: generation,
            contentHash: ContentHash.of(clean)
        )
    }

    init(id: String, content: JSONObject, info: VersionInfo) {
        self.id = id
        self.content = content
        self.info = info
    }

    /// The same content under new sync metadata (the content hash is reused, not recomputed).
    public func restamped(
        updatedAt: Timestamp,
        deletedAt: Timestamp?,
        origin: String,
        vector: VersionVector,
        generation: Int
    ) -> RecordVersion {
        RecordVersion(
            id: id,
            content: content,
            info: VersionInfo(
                updatedAt: updatedAt,
                deletedAt: deletedAt,
                origin: origin,
                vector: vector,
                generation: generation,
                contentHash: info.contentHash
            )
        )
    }

    /// Reads a record as it travels between replicas (app fields plus metadata).
    ///
    /// - Parameter defaultOrigin: the origin to assume when `_syncOrigin` is absent.
    public init(record value: JSONValue, defaultOrigin: String = "") throws(RecordError) {
        guard case .object(let record) = value else {
            throw RecordError(.notObject, "record is a \(value.typeName), not an object")
        }
        let id = try RecordVersion.recordID(of: record)
        let meta = try RecordMetadata(of: record)
        guard let updatedAt = meta.updatedAt else {
            throw RecordError(.badTimestamp, id: id, "record \(id) has no \(SyncField.updatedAt)")
        }
        let origin = meta.origin ?? defaultOrigin
        self.init(
            id: id,
            content: record,
            updatedAt: updatedAt,
            deletedAt: meta.deletedAt,
            origin: origin,
            vector: meta.vector ?? VersionVector(),
            generation: meta.generation ?? 0
        )
    }

    /// The record's `id`, checked: a non-empty string of at most 512 bytes without control
    /// characters, or an integer (older app data has numeric ids), which is keyed by its decimal text.
    public static func recordID(of record: JSONObject) throws(RecordError) -> String {
        switch record["id"] {
        case nil, .null?:
            throw RecordError(.missingID, "record has no \"id\"")
        case .string(let id)?:
            try check(id: id)
            return id
        case .number(let number)?:
            guard let value = number.intValue else {
                throw RecordError(.badID, "record id \(number.literal) is a number but not an integer")
            }
            return String(value)
        case let other?:
            throw RecordError(.badID, "record id is a \(other.typeName), not a string or an integer")
        }
    }

    /// Checks a record id given as text against the rules of ``recordID(of:)``.
    public static func check(id: String) throws(RecordError) {
        guard !id.isEmpty else { throw RecordError(.missingID, "record id is empty") }
        guard id.utf8.count <= 512 else {
            throw RecordError(.badID, "record id is longer than 512 bytes (\(id.utf8.count))")
        }
        if let control = id.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            let code = String(control.value, radix: 16, uppercase: true)
            throw RecordError(.badID, "record id contains the control character U+\(String(repeating: "0", count: 4 - code.count) + code)")
        }
    }

    public var isDeleted: Bool { info.isDeleted }

    /// The record as it travels and is exported: app fields, then `_updatedAt`,
    /// `_deletedAt`, `_syncOrigin`, `_syncVV` and (when not 0) `_syncGen`.
    public var record: JSONObject {
        var entries = Array(content.entries)
        entries.append((SyncField.updatedAt, .string(info.updatedAt.iso8601)))
        entries.append((SyncField.deletedAt, info.deletedAt.map { .string($0.iso8601) } ?? .null))
        entries.append((SyncField.origin, .string(info.origin)))
        entries.append((SyncField.vector, info.vector.json))
        if info.generation != 0 {
            entries.append((SyncField.generation, .number(JSONNumber(info.generation))))
        }
        return JSONObject(uniqueEntries: entries)
    }

    /// ``record`` written as compact JSON, without building it first (a merge writes one per record).
    public var recordText: [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        var first = true
        for (name, value) in content.entries {
            writer.writeKey(name, first: first)
            first = false
            writer.write(value)
        }
        writer.writeKey(SyncField.updatedAt, first: first)
        writer.writeString(info.updatedAt.iso8601)
        writer.writeKey(SyncField.deletedAt, first: false)
        if let deletedAt = info.deletedAt {
            writer.writeString(deletedAt.iso8601)
        } else {
            writer.appendRaw("null")
        }
        writer.writeKey(SyncField.origin, first: false)
        writer.writeString(info.origin)
        writer.writeKey(SyncField.vector, first: false)
        info.vector.write(to: &writer)
        if info.generation != 0 {
            writer.writeKey(SyncField.generation, first: false)
            writer.writeInteger(Int64(info.generation))
        }
        writer.appendByte(UInt8(ascii: "}"))
        return writer.bytes
    }
}
