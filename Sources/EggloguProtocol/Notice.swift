import EggloguJSON

/// A change notice on `egglogu/<farmId>/sync`: a hint to pull, never data.
///
/// `{"v":1,"farmId":"F","deviceId":"D","cursor":"<epoch>:<seq>","collections":["flocks"],"count":3,"at":"ISO"}`
public struct Notice: Sendable, Equatable {
    /// The largest notice a device reads; anything bigger is ignored unread.
    public static let maxBytes = 64 << 10

    /// The notice format; readers pull on any version.
    public var version: Int
    public var farmID: String
    public var deviceID: String
    public var cursor: String?
    public var collections: [String]
    public var count: Int
    public var at: String

    public init(farmID: String, deviceID: String, cursor: String?, collections: [String], count: Int, at: String) {
        self.version = 1
        self.farmID = farmID
        self.deviceID = deviceID
        self.cursor = cursor
        self.collections = collections
        self.count = count
        self.at = at
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
    }

    /// The notice as JSON bytes.
    public var bytes: [UInt8] {
        JSONValue.object(
            JSONObject(uniqueEntries: [
                ("v", .number(JSONNumber(version))), ("farmId", .string(farmID)), ("deviceId", .string(deviceID)),
                ("cursor", cursor.map(JSONValue.string) ?? .null), ("collections", .array(collections.map(JSONValue.string))),
                ("count", .number(JSONNumber(count))), ("at", .string(at)),
            ])
        ).serialized()
    }

    /// The topic notices of `farm` travel on.
    public static func topic(farm: String) -> String { "egglogu/\(farm)/sync" }

    /// The retained presence topic of a device.
    public static func presenceTopic(farm: String, device: String) -> String { "egglogu/\(farm)/devices/\(device)/status" }
}
