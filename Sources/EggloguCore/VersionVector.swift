import EggloguJSON

/// Per record: for each device, the newest stamp of its own that this version includes.
///
/// `vector[d] >= t` means the version has seen device `d`'s edit stamped `t`
/// (a device's stamps only grow), which is how merge tells a sequential edit
/// from a concurrent one.
public struct VersionVector: Sendable, Hashable {
    /// Device id to the newest stamp of that device the version includes.
    public private(set) var entries: [String: Timestamp]

    public init(_ entries: [String: Timestamp] = [:]) {
        self.entries = entries
    }

    public subscript(device: String) -> Timestamp? {
        entries[device]
    }

    /// Whether this vector includes the version `origin` stamped `updatedAt`.
    public func includes(origin: String, updatedAt: Timestamp) -> Bool {
        guard let seen = entries[origin] else { return false }
        return seen >= updatedAt
    }

    /// The pointwise maximum of two vectors.
    public func merged(with other: VersionVector) -> VersionVector {
        VersionVector(entries.merging(other.entries, uniquingKeysWith: max))
    }

    /// This vector with `device` advanced to `stamp`.
    public func advanced(_ device: String, to stamp: Timestamp) -> VersionVector {
        var copy = self
        copy.entries[device] = max(copy.entries[device] ?? stamp, stamp)
        return copy
    }

    /// Every entry capped at `limit` (used when an import clamps future timestamps).
    public func capped(at limit: Timestamp) -> VersionVector {
        VersionVector(entries.mapValues { min($0, limit) })
    }

    /// The highest timestamp in the vector.
    public var maximum: Timestamp? { entries.values.max() }

    /// The JSON form `{device: ISO-8601}` with keys sorted, so equal vectors give equal text.
    public var json: JSONValue {
        .object(
            JSONObject(
                sortedEntries.map { ($0.key, .string($0.value.iso8601)) }
            )
        )
    }

    /// Writes ``json`` without building it.
    public func write(to writer: inout JSONWriter) {
        guard !entries.isEmpty else {
            writer.appendRaw("{}")
            return
        }
        var first = true
        for (device, stamp) in sortedEntries {
            writer.writeKey(device, first: first)
            first = false
            writer.writeString(stamp.iso8601)
        }
        writer.appendByte(UInt8(ascii: "}"))
    }

    /// The entries ordered by device id's UTF-8 bytes.
    public var sortedEntries: [(key: String, value: Timestamp)] {
        entries.count == 1 ? Array(entries) : entries.sorted { JSONObject.keyPrecedes($0.key, $1.key) }
    }

    /// Reads `{device: ISO-8601}`; `nil` if any entry is not a timestamp.
    public init?(json: JSONValue) {
        guard case .object(let object) = json else { return nil }
        var entries: [String: Timestamp] = [:]
        for (device, value) in object {
            guard let text = value.stringValue, let t = Timestamp(iso8601: text) else { return nil }
            entries[device] = t
        }
        self.entries = entries
    }
}
