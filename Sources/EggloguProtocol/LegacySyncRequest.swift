import EggloguJSON

/// A body of `POST /api/v1/sync`, read as leniently as the app's backend reads it.
///
/// - `{"last_synced_at": ..., "data": {entity: [records]}}` is the delta shape: unknown top-level
///   keys are ignored, `data` may be absent or `null`, and every entity is judged on its own later.
/// - The whole `egglogu_data` blob is recognised only when the body has neither `data` nor
///   `last_synced_at` and has at least one of the keys every blob has (``blobKeys``).
/// - Anything else that is a JSON object is the delta shape with nothing to push: a pull.
public enum LegacySyncRequest: Sendable, Equatable {
    case delta(lastSyncedAt: JSONValue, data: JSONObject)
    case blob(JSONObject)

    /// Top-level keys of every app blob; one of them (without `data` or `last_synced_at`) marks a blob.
    public static let blobKeys: Set<String> = ["farm", "settings", "flocks", "dailyProduction"]

    public init(json value: JSONValue) throws(ProtocolError) {
        guard case .object(let body) = value else {
            throw .badRequest("the body must be a JSON object, not a \(value.typeName)")
        }
        if body["data"] == nil && body["last_synced_at"] == nil && body.keys.contains(where: Self.blobKeys.contains) {
            self = .blob(body)
            return
        }
        switch body["data"] {
        case nil, .null?:
            self = .delta(lastSyncedAt: body["last_synced_at"] ?? .null, data: JSONObject())
        case .object(let data)?:
            self = .delta(lastSyncedAt: body["last_synced_at"] ?? .null, data: data)
        case let other?:
            throw .badRequest("data must be an object of entity lists, not a \(other.typeName)")
        }
    }
}
