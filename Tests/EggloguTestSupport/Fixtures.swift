import EggloguFixtures
import EggloguJSON
import EggloguStore
import Foundation
import GRDB

/// A generated family farm (every collection of the app), so tests stand on their own.
public enum SmallFarm {
    public static let bytes: [UInt8] = FarmGenerator(size: .small, seed: 11).bytes()

    /// Writes the farm into `directory` and returns its path.
    public static func write(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("small-farm.json")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Paths of the shared reference data beside the checkout (`../shared`), when it is there.
public enum SharedData {
    /// Whether `../shared/data/egglogu_data.sample.json` exists.
    public static var isAvailable: Bool { FileManager.default.fileExists(atPath: samplePath) }

    /// `../shared/data/egglogu_data.sample.json`, found from this source file.
    public static var samplePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/data/egglogu_data.sample.json").path
    }

    public static var sampleBytes: [UInt8] {
        get throws { [UInt8](try Data(contentsOf: URL(fileURLWithPath: samplePath))) }
    }
}

extension JSONValue {
    /// The value without sync metadata anywhere in records: what the app wrote.
    public var withoutSyncMetadata: JSONValue {
        switch self {
        case .object(let o):
            return .object(
                JSONObject(
                    uniqueEntries: o.entries.compactMap { entry in
                        if entry.key == "_updatedAt" || entry.key == "_deletedAt" || entry.key.hasPrefix("_sync") { return nil }
                        return (entry.key, entry.value.withoutSyncMetadata)
                    }
                )
            )
        case .array(let a):
            return .array(a.map(\.withoutSyncMetadata))
        default:
            return self
        }
    }
}

/// Helpers to open replicas on a fake clock and look inside their files.
public struct ReplicaLab: Sendable {
    public let directory = TemporaryDirectory()
    public let clock = FakeClock()

    public init() {}

    /// Opens (creating) the replica `name` for `device`.
    public func open(
        _ name: String,
        device: String? = nil,
        role: ReplicaConfiguration.Role = .device,
        skewMilliseconds: Int64? = nil
    ) async throws -> Replica {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = device ?? name
        configuration.wallClock = clock.reading
        configuration.role = role
        if let skewMilliseconds { configuration.maxClockSkewMilliseconds = skewMilliseconds }
        return try await Replica.open(path: directory.file(name + ".sqlite"), configuration: configuration)
    }

    /// Everything the replica file holds, as text: equal fingerprints mean an untouched replica.
    public static func fingerprint(_ replica: Replica) throws -> String {
        try fingerprint(path: replica.path)
    }

    /// The fingerprint of the replica file at `path`.
    public static func fingerprint(path: String) throws -> String {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            var lines: [String] = []
            for table in ["meta", "record", "shape", "baseline", "change_time"] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2") {
                    lines.append("\(table) \(row)")
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Runs SQL against the replica file directly (for query plans and integrity checks).
    public static func query(_ replica: Replica, _ sql: String) throws -> [String] {
        try query(path: replica.path, sql)
    }

    /// Runs SQL against the replica file at `path`.
    public static func query(path: String, _ sql: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in try Row.fetchAll(db, sql: sql).map { $0.description } }
    }
}

/// Moves records between replicas directly, without a server in between: push what is unpushed,
/// pull what changed. Store tests use it; sync tests go through ``SyncLab``.
public enum DirectSync {
    /// Merges `from`'s records changed after `cursor` into `to`; returns the new cursor.
    @discardableResult
    public static func pull(from: Replica, into to: Replica, after cursor: Int64 = 0, pageSize: Int = 500) async throws -> Int64 {
        var cursor = cursor
        while true {
            let page = try await from.changes(after: cursor, limit: pageSize)
            _ = try await to.merge(grouped(page.changes))
            cursor = page.cursor
            if !page.hasMore { return cursor }
        }
    }

    /// Pushes `device`'s unpushed changes into `server` and marks them pushed.
    public static func push(from device: Replica, to server: Replica) async throws {
        while true {
            let batch = try await device.unpushed(limit: 500)
            if batch.isEmpty { return }
            _ = try await server.merge(grouped(batch), options: RemoteMergeOptions(fromUpstream: false))
            try await device.markPushed(batch)
        }
    }

    /// Two rounds of every device pushing to `server` and pulling back: enough for what one
    /// device files (a conflict entry, say) to reach the others.
    public static func settle(_ devices: [Replica], through server: Replica) async throws {
        for _ in 0..<2 {
            for device in devices {
                try await push(from: device, to: server)
                try await pull(from: server, into: device)
            }
        }
    }

    /// Changes grouped by collection, in order, as parsed JSON.
    public static func grouped(_ changes: [Change]) throws -> [(collection: String, records: [JSONValue])] {
        var out: [(collection: String, records: [JSONValue])] = []
        for change in changes {
            let value = try JSONParser().parse(change.body)
            if out.last?.collection == change.collection {
                out[out.count - 1].records.append(value)
            } else {
                out.append((change.collection, [value]))
            }
        }
        return out
    }
}
