/// Collection names, the kinds of data behind them, and the names reserved for sync.
///
/// Names come from the blob's shape, not from a fixed list: `flocks` is a
/// top-level record array, `feed.purchases` a record array inside the `feed`
/// object. A few names are fixed: the singletons `farm` and `settings` (stored
/// as one record per field), `auditLog`, the conflict archive, and `_syncValues`
/// where every other top-level value lives (one record per key).
public enum CollectionName {
    /// The conflict archive, which syncs like a collection.
    public static let conflictArchive = "_conflictArchive"
    /// Top-level values merged last-write-wins as a whole, one record per key.
    public static let values = "_syncValues"
    /// The blob's layout (``BlobLayout``), one record.
    public static let layout = "_syncLayout"
    /// The append-only audit log.
    public static let auditLog = "auditLog"
    /// Objects merged per top-level field.
    public static let singletons: Set<String> = ["farm", "settings"]

    /// What a collection holds.
    public enum Kind: Sendable, Equatable {
        /// Records of a top-level array.
        case records
        /// Records of an array nested one level down (`parent.child`).
        case nestedRecords(parent: String, child: String)
        /// The fields of `farm` or `settings`, one record `{id: field, value}` each.
        case singleton
        /// Top-level values, one record `{id: key, value}` each.
        case values
        /// Audit-log entries, identified by the hash of their content.
        case auditLog
        /// Conflict-archive entries.
        case conflictArchive
        /// The blob's layout.
        case layout
    }

    /// The kind of data a collection name holds, or `nil` if the name is not acceptable.
    ///
    /// Acceptable: 1 to 128 bytes without control characters, at most one `.`
    /// with a non-empty name on each side, not reserved (`_sync…`) unless it is
    /// one of ours, and no nesting under a singleton or the audit log.
    public static func kind(of name: String) -> Kind? {
        if name == conflictArchive { return .conflictArchive }
        if name == values { return .values }
        if name == layout { return .layout }
        guard name.utf8.count <= 128, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            return nil
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(SyncField.prefix) }) else { return nil }
        switch parts.count {
        case 1:
            if singletons.contains(name) { return .singleton }
            if name == auditLog { return .auditLog }
            if name == conflictArchive { return .conflictArchive }
            return .records
        case 2:
            let parent = String(parts[0])
            guard !singletons.contains(parent), parent != auditLog, parent != conflictArchive else { return nil }
            return .nestedRecords(parent: parent, child: String(parts[1]))
        default:
            return nil
        }
    }

    /// Whether a top-level key of a blob is reserved for the sync layer.
    public static func isReservedKey(_ key: String) -> Bool {
        key == conflictArchive || key.hasPrefix(SyncField.prefix)
    }
}
