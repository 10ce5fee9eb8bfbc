import EggloguCore
import EggloguJSON

/// A replica's state at a glance. ``json`` is the documented schema of `egglogu-agent status --json`.
public struct ReplicaStatus: Sendable, Equatable {
    /// Bumped only when a field changes meaning or disappears; new fields may appear at any time.
    public static let schemaVersion = 1

    public struct Counts: Sendable, Equatable {
        public var live: Int
        public var deleted: Int
    }

    public var replica: String
    public var deviceID: String
    public var farmID: String?
    /// Live and deleted records per stored collection.
    public var collections: [String: Counts]
    /// Changes made here and not yet pushed.
    public var unpushed: Int
    public var unresolvedConflicts: Int
    public var resolvedConflicts: Int
    /// The newest change-sequence number.
    public var sequence: Int64
    /// The hybrid clock's high-water mark.
    public var clockHigh: Timestamp
    /// The wall clock when the status was taken.
    public var now: Timestamp
    /// The summary the last import left (`at`, `source`, and its counts).
    public var lastImport: JSONValue?
    /// The server cursor the last applied page ended at.
    public var upstreamCursor: String?
    /// When the last full sync with the server finished.
    public var lastSync: Timestamp?
    /// What a running agent service reported (mode, broker and server reachability), with
    /// `running` false when its process is gone; nil when no service ran on this replica.
    public var service: JSONValue?
    /// Free space where the replica lives.
    public var disk: Disk

    /// The disk under the replica.
    public struct Disk: Sendable, Equatable {
        /// Bytes the service may still write, when the file system says.
        public var freeBytes: Int64?
        /// Whether writes fail for lack of room (see ``DiskSpace/fullBelow``).
        public var full: Bool
        /// Set when the replica could only be read as a snapshot (the disk is full).
        public var snapshot: ReplicaSnapshot?
    }

    /// The status as JSON; see `docs/status.md` for the schema.
    public var json: JSONValue {
        let names = collections.keys.sorted()
        let perCollection = JSONObject(
            uniqueEntries: names.map { name in
                let c = collections[name]!
                return (name, ["live": .number(JSONNumber(c.live)), "deleted": .number(JSONNumber(c.deleted))])
            }
        )
        return [
            "schemaVersion": .number(JSONNumber(ReplicaStatus.schemaVersion)),
            "replica": .string(replica),
            "deviceId": .string(deviceID),
            "farmId": farmID.map(JSONValue.string) ?? .null,
            "collections": .object(perCollection),
            "records": [
                "live": .number(JSONNumber(collections.values.reduce(0) { $0 + $1.live })),
                "deleted": .number(JSONNumber(collections.values.reduce(0) { $0 + $1.deleted })),
            ],
            "unpushed": .number(JSONNumber(unpushed)),
            "conflicts": [
                "unresolved": .number(JSONNumber(unresolvedConflicts)),
                "resolved": .number(JSONNumber(resolvedConflicts)),
            ],
            "sequence": .number(JSONNumber(sequence)),
            "clock": [
                "high": .string(clockHigh.iso8601),
                "now": .string(now.iso8601),
                "aheadOfWallClockMs": .number(JSONNumber(max(0, clockHigh.milliseconds - now.milliseconds))),
            ],
            "lastImport": lastImport ?? .null,
            "sync": [
                "cursor": upstreamCursor.map(JSONValue.string) ?? .null,
                "lastSyncAt": lastSync.map { .string($0.iso8601) } ?? .null,
            ],
            "service": service ?? .null,
            "disk": [
                "freeBytes": disk.freeBytes.map { .number(JSONNumber($0)) } ?? .null,
                "full": .bool(disk.full),
                "snapshot": disk.snapshot.map { ["unreadLogBytes": .number(JSONNumber($0.unreadLogBytes))] } ?? .null,
            ],
        ]
    }
}
