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
    /// The grammar: one name, or two joined by one `.` (a collection nested in an object), each
    /// an ASCII letter followed by up to 63 letters, digits or `_` (the app's own keys are
    /// JavaScript identifiers: `flocks`, `feed.purchases`). So no markup (`<b>x</b>`), no
    /// `__proto__`, nothing reserved (`_sync…`) but our own three names, and no nesting under a
    /// singleton or the audit log.
    public static func kind(of name: String) -> Kind? {
        if name == conflictArchive { return .conflictArchive }
        if name == values { return .values }
        if name == layout { return .layout }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy(isIdentifier) else { return nil }
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

    /// `[A-Za-z][A-Za-z0-9_]{0,63}`.
    private static func isIdentifier(_ part: Substring) -> Bool {
        guard let first = part.utf8.first, part.utf8.count <= 64, (0x41...0x5A).contains(first) || (0x61...0x7A).contains(first) else {
            return false
        }
        return part.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F }
    }

    /// Whether `key` may name a top-level value of a blob (`_clientCodeSeq`): any key the sync
    /// layer does not reserve that is a valid record id, since values are stored under their key.
    public static func isValueKey(_ key: String) -> Bool {
        guard !isReservedKey(key) else { return false }
        do throws(RecordError) {
            try RecordVersion.check(id: key)
            return true
        } catch {
            return false
        }
    }

    /// Whether a top-level key of a blob is reserved for the sync layer.
    public static func isReservedKey(_ key: String) -> Bool {
        key == conflictArchive || key.hasPrefix(SyncField.prefix)
    }
}
