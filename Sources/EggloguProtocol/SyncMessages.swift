import EggloguCore
import EggloguJSON

/// The records of one collection in a push or a page of changes.
public struct CollectionChanges: Sendable, Equatable {
    public var collection: String
    public var records: [JSONValue]

    public init(collection: String, records: [JSONValue]) {
        self.collection = collection
        self.records = records
    }

    var json: JSONValue { ["collection": .string(collection), "records": .array(records)] }

    static func list(_ value: JSONValue?, field: String) throws(ProtocolError) -> [CollectionChanges] {
        guard case .array(let groups)? = value else { throw .badRequest("\(field) must be an array") }
        var out: [CollectionChanges] = []
        for (n, group) in groups.enumerated() {
            guard case .object(let o) = group, case .string(let collection)? = o["collection"],
                case .array(let records)? = o["records"]
            else { throw .badRequest("\(field)[\(n)] must be {\"collection\": string, \"records\": array}") }
            out.append(CollectionChanges(collection: collection, records: records))
        }
        return out
    }
}

/// `POST /api/v1/sync/delta`: a device's changes, and where its last pull ended.
public struct PushRequest: Sendable, Equatable {
    public var farmID: String
    public var deviceID: String
    /// A cursor, an ISO-8601 time (first sync: changes received at or after it), or `nil` for everything.
    public var since: String?
    public var changes: [CollectionChanges]

    public init(farmID: String, deviceID: String, since: String?, changes: [CollectionChanges]) {
        self.farmID = farmID
        self.deviceID = deviceID
        self.since = since
        self.changes = changes
    }

    public init(json value: JSONValue) throws(ProtocolError) {
        guard case .object(let o) = value else { throw .badRequest("the body must be a JSON object") }
        guard case .string(let farm)? = o["farmId"], !farm.isEmpty else { throw .badRequest("farmId must be a string") }
        guard case .string(let device)? = o["deviceId"], !device.isEmpty, device.utf8.count <= 256 else {
            throw .badRequest("deviceId must be a string of 1 to 256 bytes")
        }
        switch o["since"] {
        case nil, .null?: since = nil
        case .string(let s)?: since = s
        default: throw .badRequest("since must be a cursor string or null")
        }
        farmID = farm
        deviceID = device
        changes = o["changes"] == nil ? [] : try CollectionChanges.list(o["changes"], field: "changes")
    }

    public var json: JSONValue {
        [
            "farmId": .string(farmID), "deviceId": .string(deviceID), "since": since.map(JSONValue.string) ?? .null,
            "changes": .array(changes.map(\.json)),
        ]
    }
}

/// A record the server did not take, and why (``RecordError/Reason``).
public struct Rejection: Sendable, Equatable {
    public var collection: String
    public var id: String?
    public var reason: RecordError.Reason

    public init(collection: String, id: String?, reason: RecordError.Reason) {
        self.collection = collection
        self.id = id
        self.reason = reason
    }
}

/// The answer to a push or a pull: accepted and rejected records, then a page of changes.
public struct SyncResponse: Sendable, Equatable {
    /// Records merged (a push only).
    public var accepted: Int
    /// The first rejections (a server lists at most a thousand, the ones a device retries first).
    public var rejected: [Rejection]
    /// Every rejection, listed or not.
    public var rejectedCount: Int
    public var changes: [CollectionChanges]
    /// Where the next request continues; it covers the versions this device just pushed.
    public var cursor: Cursor
    public var hasMore: Bool
    /// The farm's newest sequence number, sent while more pages follow: changes left are at most
    /// `head` minus the cursor's sequence number.
    public var head: Int64?
    public var serverTime: String
    /// The answer's size on the wire, as the transport received it (not part of the JSON).
    public var bytes = 0

    public init(accepted: Int = 0, rejected: [Rejection] = [], changes: [CollectionChanges], cursor: Cursor, hasMore: Bool, serverTime: String) {
        self.accepted = accepted
        self.rejected = rejected
        self.rejectedCount = rejected.count
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.serverTime = serverTime
    }

    public init(json value: JSONValue) throws(ProtocolError) {
        guard case .object(let o) = value else { throw .badRequest("the response must be a JSON object") }
        guard case .string(let cursorText)? = o["cursor"], let cursor = Cursor(cursorText) else {
            throw .badRequest("the response has no valid cursor")
        }
        guard case .bool(let hasMore)? = o["hasMore"] else { throw .badRequest("the response has no hasMore") }
        self.cursor = cursor
        self.hasMore = hasMore
        self.head = o["head"]?.numberValue?.intValue.map(Int64.init)
        self.serverTime = o["serverTime"]?.stringValue ?? ""
        self.accepted = o["accepted"]?.numberValue?.intValue ?? 0
        self.changes = try CollectionChanges.list(o["changes"], field: "changes")
        var rejected: [Rejection] = []
        if case .array(let list)? = o["rejected"] {
            for item in list {
                guard case .object(let r) = item, let collection = r["collection"]?.stringValue,
                    let reason = r["reason"]?.stringValue
                else { throw .badRequest("malformed rejection") }
                rejected.append(Rejection(collection: collection, id: r["id"]?.stringValue, reason: .init(rawValue: reason)))
            }
        }
        self.rejected = rejected
        self.rejectedCount = o["rejectedCount"]?.numberValue?.intValue ?? rejected.count
    }
}
