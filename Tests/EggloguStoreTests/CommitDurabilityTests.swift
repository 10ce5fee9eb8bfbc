import EggloguCore
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import GRDB
import Testing

@testable import EggloguStore

/// Which commits are synced before they return: everything but a device's pages from its server.
/// The writer connection keeps the `synchronous` level its last write set, so reading it after a
/// write shows how that write committed.
@Suite(.ownThreads) struct CommitDurabilityTests {
    let lab = ReplicaLab()

    private func level(_ replica: Replica) async throws -> Int {
        try await level(replica.pool)
    }

    private func level(_ pool: DatabasePool) async throws -> Int {
        try await offPool { try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 } }
    }

    private static let full = 2
    private static let normal = 1

    private func remote(_ id: String) -> JSONValue {
        ["id": .string(id), "count": 1, "_updatedAt": .string(lab.clock.time.iso8601), "_syncOrigin": "gw-2"]
    }

    @Test func aPageOrANoticeFromTheServerIsNotSyncedAndTheNextLocalEditIs() async throws {
        let device = try await lab.open("gw-1")
        try await device.applyUpstream([("flocks", [remote("a")])], cursor: "e:1")
        #expect(try await level(device) == Self.normal)

        _ = try await device.put("flocks", ["id": "local", "count": 2])
        #expect(try await level(device) == Self.full, "a local edit after a page is synced")

        let applied = try await device.applyInline([("flocks", [remote("b")])], before: "e:1", cursor: "e:2")
        #expect(applied != nil)
        #expect(try await level(device) == Self.normal)

        try await device.delete("flocks", id: "a")
        #expect(try await level(device) == Self.full)

        // A page that settles pushed changes is synced: a power cut must not send them twice.
        let pushed = try await device.unpushed(limit: 10)
        #expect(!pushed.isEmpty)
        try await device.applyUpstream([("flocks", [remote("c")])], settled: pushed, cursor: "e:3")
        #expect(try await level(device) == Self.full)
        #expect(try await device.unpushedCount() == 0)
    }

    /// An unsynced commit is a commit: another connection sees the page and its cursor at once.
    @Test func anUnsyncedPageIsCommittedWithItsCursor() async throws {
        let device = try await lab.open("gw-1")
        try await device.applyUpstream([("flocks", [remote("a"), remote("b")])], cursor: "e:7")
        let reopened = try await lab.open("gw-1")
        #expect(try await reopened.upstreamCursor() == "e:7")
        #expect(try await reopened.get("flocks").arrayValue?.count == 2)
    }

    /// GRDB's WAL set-up leaves a pool's writer at NORMAL after `prepareDatabase` has run: the
    /// first writes after an open were not synced until this was found.
    @Test func theFirstWritesAfterAnOpenAreSynced() async throws {
        let device = try await lab.open("gw-1")
        #expect(try await level(device) == Self.full)
        _ = try await device.put("flocks", ["id": "local", "count": 2])
        #expect(try await level(device) == Self.full)

        let registry = try await DeviceRegistry.open(path: lab.directory.file("server.sqlite"))
        try await registry.register(device: "gw-1", farms: ["farm-1"])
        #expect(try await level(registry.pool) == Self.full, "a revocation must survive a power cut")
    }

    @Test func aServerSyncsEveryWrite() async throws {
        let server = try await lab.open("server", role: .server)
        try await server.applyUpstream([("flocks", [remote("a")])], cursor: "e:1")
        #expect(try await level(server) == Self.full)
    }

    /// The watcher's own-thread check sees a committed local edit and nothing else.
    @Test func theOwnThreadCheckSeesQueuedChangesOnly() async throws {
        let device = try await lab.open("gw-1")
        try await device.applyUpstream([("flocks", [remote("a")])], cursor: "e:1")
        #expect(try await offPool { try device.hasUnpushedChangesOnThisThread() } == false)
        _ = try await device.put("flocks", ["id": "local", "count": 2])
        #expect(try await offPool { try device.hasUnpushedChangesOnThisThread() } == true)
    }
}
