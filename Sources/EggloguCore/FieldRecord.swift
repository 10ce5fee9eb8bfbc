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
