import EggloguCore
import EggloguJSON

/// One farm's change feed as the sync server uses it. A SQLite ``Replica`` is one; a PostgreSQL
/// store is another. Every implementation assigns sequence numbers so that a reader never sees a
/// later one without every earlier one (docs/protocol.md, "Why a cursor never skips").
public protocol FarmStore: Sendable {
    /// The farm this store holds.
    var farmID: String? { get }

    /// Identifies this history of the farm: a restored copy has another epoch.
    var epoch: String { get }

    /// Merges a device's push and reads the changes it has not seen, in one transaction.
    ///
    /// - Throws: ``ReplicaError/Code/cursorAhead`` or ``ReplicaError/Code/historyPurged`` for a
    ///   cursor this store cannot answer from.
    func mergePush(
        _ batch: [(collection: String, records: [JSONValue])],
        options: RemoteMergeOptions,
        after seq: Int64,
        limit: Int
    ) async throws -> MergedPush

    /// Changes with a sequence number above `seq`, oldest first.
    func changes(after seq: Int64, limit: Int) async throws -> ChangePage

    /// The sequence number just before the first change received at or after `time`.
    func sequence(receivedBefore time: Timestamp) async throws -> Int64

    /// The newest change-sequence number.
    func headSequence() async throws -> Int64

    /// Purges tombstones and resolved conflict-archive entries received before `horizon`.
    func purge(receivedBefore horizon: Timestamp) async throws -> PurgeReport

    /// When the store was last purged.
    func lastPurge() async throws -> Timestamp?
}

extension Replica: FarmStore {}

/// Where a sync server keeps its farms and devices when it is not the embedded SQLite store:
/// a database that several server instances share.
public protocol FarmStorage: Sendable {
    /// The devices and revocations, shared by every instance.
    var devices: any DeviceDirectory { get }

    /// The store of `farm`, created empty if the farm is new.
    func farm(_ farm: String) async throws -> any FarmStore

    /// Farms not purged within `interval` (the oldest first, at most `limit`).
    func farmsDueForPurge(every interval: Duration, limit: Int) async throws -> [any FarmStore]

    /// Whether the database answers a read.
    func isReadable() async -> Bool
}
