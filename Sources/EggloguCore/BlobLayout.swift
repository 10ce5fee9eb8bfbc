import EggloguJSON

/// The order of a farm blob's top-level keys, nested children and singleton fields, with the kind
/// of each key. It syncs as the one record of `_syncLayout`, so every replica exports the same
/// blob, empty collections included, whichever device imported it.
///
/// Records inside an array are exported by id (the app's ids start with their creation time);
/// the layout orders the containers.
public struct BlobLayout: Sendable, Equatable {
    /// A key of the blob, or a nested child `parent.child`.
    public struct Key: Sendable, Equatable {
        public let name: String
        public let kind: ShapeKind

        public init(name: String, kind: ShapeKind) {
            self.name = name
            self.kind = kind
        }
    }

    /// The id of the layout's record in `_syncLayout`.
    public static let recordID = "blob"

    public private(set) var keys: [Key]
    /// Field order of each singleton.
    public private(set) var fields: [String: [String]]

    public init(keys: [Key] = [], fields: [String: [String]] = [:]) {
        self.keys = keys
        self.fields = fields
    }

    /// The layout of a decoded blob.
    public init(of blob: DecodedBlob) {
        keys = blob.shapes.map { Key(name: $0.name, kind: $0.kind) }
        fields = [:]
        for group in blob.groups where CollectionName.kind(of: group.collection) == .singleton {
            fields[group.collection] = group.records.compactMap { $0["id"]?.stringValue }
        }
    }

    /// This layout followed by whatever `other` has that it lacks (a key keeps its first kind).
    public func extended(with other: BlobLayout) -> BlobLayout {
        var result = self
        let known = Set(keys.map(\.name))
        result.keys += other.keys.filter { !known.contains($0.name) }
        for (singleton, names) in other.fields {
            let have = Set(result.fields[singleton] ?? [])
            result.fields[singleton, default: []] += names.filter { !have.contains($0) }
        }
        return result
    }

    /// The record content: `{"id": "blob", "keys": [[name, kind], ...], "fields": {singleton: [field, ...]}}`.
    public var content: JSONObject {
        JSONObject(uniqueEntries: [
            ("id", .string(BlobLayout.recordID)),
            ("keys", .array(keys.map { [.string($0.name), .string($0.kind.rawValue)] })),
            ("fields", .object(JSONObject(uniqueEntries: fields.keys.sorted().map { ($0, .array(fields[$0]!.map(JSONValue.string))) }))),
        ])
    }

    /// Reads a layout record's content; unknown kinds and malformed entries are skipped.
    public init(content: JSONObject) {
        var keys: [Key] = []
        for entry in content["keys"]?.arrayValue ?? [] {
            guard let pair = entry.arrayValue, pair.count == 2, let name = pair[0].stringValue,
                let kind = pair[1].stringValue.flatMap(ShapeKind.init(rawValue:))
            else { continue }
            keys.append(Key(name: name, kind: kind))
        }
        var fields: [String: [String]] = [:]
        for (singleton, list) in content["fields"]?.objectValue ?? JSONObject() {
            fields[singleton] = (list.arrayValue ?? []).compactMap(\.stringValue)
        }
        self.init(keys: keys, fields: fields)
    }
}
