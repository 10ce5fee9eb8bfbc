import EggloguJSON

/// Audit-log entries have no id; the replica gives each the hash of its content.
public enum AuditEntry {
    /// The id for an entry without one: the hash of its canonical JSON.
    public static func syntheticID(of entry: JSONObject) -> String {
        ContentHash.of(entry.filter(keys: { $0 != "id" && !SyncField.isMetadata($0) }))
    }

    /// The entry as the replica stores it: its own string id if it has one, else a synthesized one.
    /// An own id must pass the id rule of every record (``RecordVersion/check(id:)``).
    public static func stored(_ entry: JSONObject) throws(RecordError) -> (id: String, content: JSONObject) {
        if case .string(let id)? = entry["id"], !id.isEmpty {
            try RecordVersion.check(id: id)
            return (id, entry)
        }
        let id = syntheticID(of: entry)
        var content = JSONObject(uniqueEntries: [("id", .string(id))])
        for (k, v) in entry where k != "id" { content[k] = v }
        return (id, content)
    }

    /// The entry as the app wrote it: an id the replica synthesized is left out.
    public static func exported(_ content: JSONObject) -> JSONObject {
        guard case .string(let id)? = content["id"], id == syntheticID(of: content) else { return content }
        return content.filter(keys: { $0 != "id" })
    }
}
