import EggloguAgentSync
import EggloguJSON
import EggloguServer
import EggloguStore
import EggloguTestSupport
import Foundation
import Logging
import Testing

/// Tombstones and resolved conflicts are purged past their retention; a device whose cursor is
/// older gets 410 `history-purged` and starts again without losing what only it has.
@Suite struct RetentionTests {
    static let horizon = Duration.milliseconds(300)
    static let logger = Logger(label: "retention-test")

    func flock(_ id: String, _ name: String) -> JSONValue { ["id": .string(id), "name": .string(name)] }

    func name(_ device: LabDevice, _ id: String) async throws -> String? {
        try await device.replica.get("flocks", id: id).objectValue?["name"]?.stringValue
    }

    /// The stored flock, deleted or not, or nil when the replica has no such record at all.
    func stored(_ replica: Replica, _ id: String) async throws -> JSONObject? {
        do {
            return try await replica.get("flocks", id: id, includeDeleted: true).objectValue
        } catch let error as ReplicaError where error.code == .notFound {
            return nil
        }
    }

    func isDeleted(_ replica: Replica, _ id: String) async throws -> Bool {
        guard let record = try await stored(replica, id) else { return false }
        return record["_deletedAt"].map { $0 != .null } ?? false
    }

    @Test func aDeviceOfflineAcrossTheHorizonKeepsItsEditsAndConflictsAndForgetsWhatWasDeleted() async throws {
        let lab = try await SyncLab { $0.tombstoneRetention = Self.horizon }
        let a = try await lab.device("gw-a")
        let b = try await lab.device("gw-b")
        for id in ["f1", "f2", "f3"] { _ = try await a.replica.put("flocks", flock(id, "\(id) from a")) }
        try await a.sync.sync()
        try await b.sync.sync()
        // A concurrent edit of f2 leaves an unresolved conflict on b.
        _ = try await a.replica.put("flocks", flock("f2", "f2 edited on a"))
        try await a.sync.sync()
        _ = try await b.replica.put("flocks", flock("f2", "f2 edited on b"))
        try await b.sync.sync()
        let conflicts = try await b.replica.conflicts()
        #expect(conflicts.count == 1)

        // b goes offline; a deletes f1; b edits f3 and adds f4.
        _ = try await a.replica.delete("flocks", id: "f1")
        try await a.sync.sync()
        _ = try await b.replica.put("flocks", flock("f3", "f3 edited on b offline"))
        _ = try await b.replica.put("flocks", flock("f4", "f4 made on b offline"))

        try await Task.sleep(for: Self.horizon + .milliseconds(200))
        let totals = await lab.server.purgeExpired(logger: Self.logger)
        #expect(totals.tombstones == 1)

        // f1's tombstone was the newest change: the sequence goes on above it, and a's cursor,
        // at that tombstone, is still good.
        let aAgain = try await a.sync.sync()
        #expect(!aAgain.resynced, "a's cursor is past everything purged")
        let summary = try await b.sync.sync()
        #expect(summary.resynced)
        #expect(summary.dropped != nil)
        #expect(try await stored(b.replica, "f1") == nil, "b forgot f1, which was deleted, and did not bring it back")
        #expect(try await name(b, "f3") == "f3 edited on b offline")
        #expect(try await name(b, "f4") == "f4 made on b offline")
        #expect(try await b.replica.conflicts().map(\.id) == conflicts.map(\.id), "the unresolved conflict is kept")

        try await a.sync.sync()
        #expect(try await name(a, "f3") == "f3 edited on b offline")
        #expect(try await name(a, "f4") == "f4 made on b offline")
        #expect(try await isDeleted(a.replica, "f1"))
        let server = try await lab.serverReplica()
        #expect(try await stored(server, "f1") == nil, "no resurrection on the server")
        #expect(try await a.replica.exportBlob() == b.replica.exportBlob())
        #expect(try await a.replica.conflicts().count == 1)
    }

    @Test func withoutRetentionNothingIsPurgedAndOldCursorsStillWork() async throws {
        let lab = try await SyncLab { $0.tombstoneRetention = nil }
        let a = try await lab.device("gw-a")
        let b = try await lab.device("gw-b")
        _ = try await a.replica.put("flocks", flock("f1", "one"))
        try await a.sync.sync()
        try await b.sync.sync()
        _ = try await a.replica.delete("flocks", id: "f1")
        try await a.sync.sync()
        try await Task.sleep(for: .milliseconds(100))
        #expect(await lab.server.purgeExpired(logger: Self.logger) == PurgeTotals())
        let summary = try await b.sync.sync()
        #expect(!summary.resynced)
        #expect(try await isDeleted(b.replica, "f1"))
    }

    /// Over HTTP: a farm is purged as it opens, an old cursor gets 410 with its reason on pulls and
    /// pushes (the push merging nothing), and a pull from scratch gets the state without tombstones.
    @Test func anOldCursorGets410HistoryPurgedOverHTTP() async throws {
        let scratch = TemporaryDirectory()
        let data = scratch.file("data")
        let old = try await TestServer.with(dataDirectory: data, configure: { $0.tombstoneRetention = nil }) { server in
            let t = try await server.token(device: "d1")
            let stamp = "2026-11-30T10:00:00.000Z"
            let put: JSONValue = [
                "farmId": "farm-1", "deviceId": "d1", "since": .null,
                "changes": [
                    ["collection": "flocks", "records": [["id": "f1", "_updatedAt": .string(stamp)], ["id": "f2", "_updatedAt": .string(stamp)]]]
                ],
            ]
            let first = try await server.request(.POST, "/api/v1/sync/delta", token: t, body: put.serialized())
            let cursor = try #require(first.json?.objectValue?["cursor"]?.stringValue)
            let delete: JSONValue = [
                "farmId": "farm-1", "deviceId": "d1", "since": .string(cursor),
                "changes": [
                    [
                        "collection": "flocks",
                        "records": [["id": "f1", "_updatedAt": "2026-11-30T10:00:01.000Z", "_deletedAt": "2026-11-30T10:00:01.000Z"]],
                    ]
                ],
            ]
            #expect(try await server.request(.POST, "/api/v1/sync/delta", token: t, body: delete.serialized()).status == 200)
            return cursor
        }
        try await Task.sleep(for: .milliseconds(50))
        try await TestServer.with(dataDirectory: data, configure: { $0.tombstoneRetention = .milliseconds(10) }) { server in
            let t = try await server.token(device: "d1")
            let pull = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1&since=\(old)", token: t)
            #expect(pull.status == 410)
            #expect(pull.json?.objectValue?["error"] == "resync-required")
            #expect(pull.json?.objectValue?["reason"] == "history-purged")
            let push: JSONValue = [
                "farmId": "farm-1", "deviceId": "d1", "since": .string(old),
                "changes": [["collection": "flocks", "records": [["id": "f1", "_updatedAt": "2026-11-30T10:00:00.000Z"]]]],
            ]
            let refused = try await server.request(.POST, "/api/v1/sync/delta", token: t, body: push.serialized())
            #expect(refused.status == 410)
            #expect(refused.json?.objectValue?["reason"] == "history-purged")
            let fresh = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1", token: t)
            #expect(fresh.status == 200)
            let ids = fresh.json?.objectValue?["changes"]?.arrayValue?.first?.objectValue?["records"]?.arrayValue?.compactMap {
                $0.objectValue?["id"]?.stringValue
            }
            #expect(ids == ["f2"], "the tombstone of f1 is gone and the refused push merged nothing")
        }
    }
}
