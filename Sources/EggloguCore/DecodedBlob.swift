import EggloguJSON

/// An `egglogu_data` blob split into the collections the replica stores.
public struct DecodedBlob: Sendable {
    /// The records of one collection, in blob order.
    public struct Group: Sendable {
        public let collection: String
        public internal(set) var records: [JSONObject]
    }

    /// The records to store, one group per collection (singleton fields and values included).
    public internal(set) var groups: [Group] = []
    /// Every top-level key and nested child with its kind, in blob order.
    public internal(set) var shapes: [(name: String, kind: ShapeKind)] = []
    /// Entries of a `_conflictArchive` the blob carries (from an earlier export).
    public internal(set) var archive: [JSONValue] = []
    var presentKeys: Set<String> = []
    var recordGroups: Set<String> = []

    /// Whether a record that this blob lacks was removed by it.
    ///
    /// Absence is judged only inside containers the blob has: a blob without a
    /// `welfare` key (an older app version) removes nothing from it. The audit log
    /// is append-only, so its entries are never judged absent.
    public func judgesAbsence(collection: String, id: String) -> Bool {
        switch CollectionName.kind(of: collection) {
        case .records?, .nestedRecords?: return recordGroups.contains(collection)
        case .singleton?: return presentKeys.contains(collection)
        case .values?:
            guard let dot = id.firstIndex(of: ".") else { return true }
            return presentKeys.contains(String(id[..<dot]))
        default: return false
        }
    }
}
