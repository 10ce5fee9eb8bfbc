import EggloguJSON

/// Singleton fields and top-level values stored as records `{"id": name, "value": v}`.
///
/// This lets one merge rule cover them: each field keeps its own timestamp and
/// vector, and removing a field is a soft delete that propagates like any other.
public enum FieldRecord {
    /// The record holding `value` under `name`.
    public static func make(name: String, value: JSONValue) -> JSONObject {
        JSONObject(uniqueEntries: [("id", .string(name)), ("value", value)])
    }

    /// The value a field record holds (`null` if it has none).
    public static func value(of content: JSONObject) -> JSONValue {
        content["value"] ?? .null
    }
}

/// Audit-log entries have no id; the replica gives each the hash of its content.
public enum AuditEntry {
    /// The id for an entry without one: the hash of its canonical JSON.
    public static func syntheticID(of entry: JSONObject) -> String {
        ContentHash.of(entry.filter(keys: { $0 != "id" && !SyncField.isMetadata($0) }))
    }

    /// The entry as the replica stores it: its own string id if it has one, else a synthesized one.
    public static func stored(_ entry: JSONObject) -> (id: String, content: JSONObject) {
        if case .string(let id)? = entry["id"], !id.isEmpty { return (id, entry) }
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
