import EggloguCore
import EggloguJSON
import Foundation
import GRDB

extension Replica {
    /// Counts per collection, unpushed changes, conflicts and the clock.
    public func status() async throws -> ReplicaStatus {
        let free = DiskSpace.available(near: path)
        return try await read { db in
            var collections: [String: ReplicaStatus.Counts] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT collection, count(*) - count(deleted_at) AS live, count(deleted_at) AS deleted FROM record
                    WHERE collection NOT IN (?, ?) GROUP BY collection
                    """,
                arguments: [CollectionName.conflictArchive, CollectionName.layout]
            )
            for row in rows {
                collections[row["collection"]] = .init(live: row["live"], deleted: row["deleted"])
            }
            let conflicts = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*) - coalesce(sum(json_extract(body, '$.resolved')), 0),
                           coalesce(sum(json_extract(body, '$.resolved')), 0)
                    FROM record WHERE collection = ?
                    """,
                arguments: [CollectionName.conflictArchive]
            )!
            let lastImport = try Meta.get(db, .lastImport).flatMap { try? JSONParser().parse($0) }
            return ReplicaStatus(
                replica: self.path,
                deviceID: self.deviceID,
                farmID: self.farmID,
                collections: collections,
                unpushed: try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE dirty = 1") ?? 0,
                unresolvedConflicts: conflicts[0],
                resolvedConflicts: conflicts[1],
                sequence: try Replica.head(db),
                clockHigh: try Meta.get(db, .clockHigh).flatMap { Int64($0) }.map(Timestamp.init(milliseconds:)) ?? .epoch,
                now: self.configuration.wallClock(),
                lastImport: lastImport,
                upstreamCursor: try Meta.get(db, .upstreamCursor),
                lastSync: try Meta.get(db, .lastSync).flatMap(Timestamp.init(iso8601:)),
                service: try Meta.get(db, .serviceState).flatMap { try? JSONParser().parse($0) }.map(Replica.withLiveness),
                disk: .init(freeBytes: free, full: self.snapshot != nil || free.map { $0 < DiskSpace.fullBelow } ?? false, snapshot: self.snapshot)
            )
        }
    }
}

extension Replica {
    /// The service state with `running`: whether its process still exists.
    static func withLiveness(_ state: JSONValue) -> JSONValue {
        guard case .object(var object) = state else { return state }
        let pid = object["pid"]?.numberValue?.intValue ?? 0
        object["running"] = .bool(pid > 0 && (kill(pid_t(pid), 0) == 0 || errno == EPERM))
        return .object(object)
    }
}
