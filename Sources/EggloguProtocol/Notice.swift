import EggloguJSON

/// A change notice, published by the server alone after a push.
///
/// `{"v":1,"farmId":"F","deviceId":"D","cursor":"<epoch>:<seq>","collections":["flocks"],"count":3,"at":"ISO"}`
///
/// On `egglogu/<farmId>/changes` a notice may carry the changes themselves: `before` is the farm's
/// head before them and `changes` every change after it up to `cursor`, so a device whose cursor
/// is `before` applies them instead of pulling. Without them (too large, or the app's legacy route)
/// it is a hint to pull, as on `egglogu/<farmId>/sync`.
public struct Notice: Sendable, Equatable {
    /// The largest notice a device reads; anything bigger is ignored unread.
    public static let maxBytes = 64 << 10
    /// The largest notice the server sends with its changes inline; a larger one goes without them.
    public static let inlineLimit = 8 << 10

    /// The notice format; readers pull on any version.
    public var version: Int
    public var farmID: String
    public var deviceID: String
    public var cursor: String?
    public var collections: [String]
    public var count: Int
    public var at: String
    /// With inline changes: the cursor they start after.
    public var before: String?
    /// Every change after ``before`` up to ``cursor``, when they travel inline.
    public var changes: [CollectionChanges]?

    public init(
        farmID: String,
        deviceID: String,
        cursor: String?,
        collections: [String],
        count: Int,
        at: String,
        before: String? = nil,
        changes: [CollectionChanges]? = nil
    ) {
        self.version = 1
        self.farmID = farmID
        self.deviceID = deviceID
        self.cursor = cursor
        self.collections = collections
        self.count = count
        self.at = at
        self.before = before
        self.changes = changes
    }

    /// Reads a notice. Fields beyond `farmId` and `deviceId` are optional, so a notice of a
    /// later version still wakes the device.
    public init(bytes: [UInt8]) throws(ProtocolError) {
        guard bytes.count <= Notice.maxBytes else { throw ProtocolError("oversized", "a notice of \(bytes.count) bytes") }
        guard case .object(let o)? = try? JSONParser(maxDepth: 16).parse(bytes) else {
            throw ProtocolError("malformed", "a notice that is not a JSON object")
        }
        guard case .number(let v)? = o["v"], let version = v.intValue,
            case .string(let farm)? = o["farmId"], case .string(let device)? = o["deviceId"]
        else { throw ProtocolError("malformed", "a notice without v, farmId and deviceId") }
        self.version = version
        self.farmID = farm
        self.deviceID = device
        self.cursor = o["cursor"]?.stringValue
        self.collections = o["collections"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.count = o["count"]?.numberValue?.intValue ?? 0
        self.at = o["at"]?.stringValue ?? ""
        // Inline changes count only whole: a notice with a part of them is a hint to pull.
        if case .string(let before)? = o["before"], let value = o["changes"],
            let changes = try? CollectionChanges.list(value, field: "changes")
        {
            self.before = before
            self.changes = changes
        }
    }

    /// The plain notice as JSON bytes: without ``before`` and ``changes``, which only the server
    /// writes, from stored records (``bytes(before:changes:limit:)``).
    public var bytes: [UInt8] {
        var writer = head
        writer.appendRaw("}")
        return writer.bytes
    }

    /// The notice with `changes` (records as stored JSON text, oldest first) inline after `before`,
    /// or nil when that would exceed `limit` bytes.
    public func bytes(before: String, changes: [(collection: String, record: String)], limit: Int = Notice.inlineLimit) -> [UInt8]? {
        guard changes.reduce(0, { $0 + $1.record.utf8.count }) < limit else { return nil }
        var writer = head
        writer.appendRaw(",\"before\":")
        writer.writeString(before)
        writer.appendRaw(",")
        var list = ChangeListWriter(after: writer)
        for change in changes { list.append(collection: change.collection, record: change.record.utf8) }
        writer = list.close()
        writer.appendRaw("}")
        return writer.bytes.count <= limit ? writer.bytes : nil
    }

    /// Every field but the changes, without the closing brace.
    private var head: JSONWriter {
        var writer = JSONWriter(reservingCapacity: 512)
        let fields = JSONValue.object(
            JSONObject(uniqueEntries: [
                ("v", .number(JSONNumber(version))), ("farmId", .string(farmID)), ("deviceId", .string(deviceID)),
                ("cursor", cursor.map(JSONValue.string) ?? .null), ("collections", .array(collections.map(JSONValue.string))),
                ("count", .number(JSONNumber(count))), ("at", .string(at)),
            ])
        ).serialized()
        writer.appendRaw(fields.dropLast())
        return writer
    }

    /// The topic plain notices of `farm` travel on, for agents of earlier releases (devices may
    /// write there too, so nothing on it is trusted as data).
    public static func topic(farm: String) -> String { "egglogu/\(farm)/sync" }

    /// The topic the server publishes `farm`'s notices on, with their changes when small: the
    /// server alone may write there, the farm's devices only read.
    public static func changesTopic(farm: String) -> String { "egglogu/\(farm)/changes" }

    /// The retained presence topic of a device.
    public static func presenceTopic(farm: String, device: String) -> String { "egglogu/\(farm)/devices/\(device)/status" }
}
