import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

@testable import EggloguStore

/// What a read-only snapshot (the replica on a full disk) counts as missing from the main file.
@Suite(.ownThreads) struct SnapshotTests {
    func size(_ path: String) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// SQLite keeps a checkpointed log at its size, so on a running gateway the log is rarely empty;
    /// only frames a checkpoint has not copied yet are missing from the main file.
    @Test func onlyFramesNotYetCheckpointedCountAsUnread() async throws {
        let dir = TemporaryDirectory()
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "gw-1"
        let path = dir.file("replica.sqlite")
        let replica = try await Replica.open(path: path, configuration: configuration)
        _ = try await replica.put("flocks", ["id": "a", "name": "Lote A"])
        #expect(Replica.unreadLogBytes(path) > 0)

        _ = try Subprocess.runTool("/usr/bin/sqlite3", [path, "PRAGMA wal_checkpoint(PASSIVE);"])
        #expect(size(path + "-wal") > 0, "the log keeps its size after a checkpoint")
        #expect(Replica.unreadLogBytes(path) == 0)

        _ = try await replica.put("flocks", ["id": "b", "name": "Lote B"])
        let unread = Replica.unreadLogBytes(path)
        #expect(unread > 0 && unread <= size(path + "-wal"))

        let copy = dir.file("copy.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        #expect(Replica.unreadLogBytes(copy) == size(copy + "-wal"), "without the index, the whole log counts")
        withExtendedLifetime(replica) {}
    }
}
