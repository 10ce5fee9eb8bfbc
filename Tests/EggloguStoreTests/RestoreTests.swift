import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct RestoreTests {
    let lab = ReplicaLab()

    @Test func aRestoreBringsTheDeletedContentBackEverywhereAndBeatsTheDeletion() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        let server = try await lab.open("server", role: .server)
        try await a.put("flocks", ["id": "f1", "name": "Barn 1", "birds": 120])
        try await DirectSync.settle([a, b], through: server)
        lab.clock.advance(milliseconds: 10)
        try await b.delete("flocks", id: "f1")
        try await DirectSync.settle([a, b], through: server)
        await #expect(try a.get("flocks", id: "f1").objectValue?["_deletedAt"]?.stringValue != nil)

        lab.clock.advance(milliseconds: 10)
        await #expect(try a.restore("flocks", id: "f1") == .restored)
        await #expect(try a.restore("flocks", id: "f1") == .alreadyLive)
        try await DirectSync.settle([a, b], through: server)
        for replica in [a, b, server] {
            let record = try await replica.get("flocks", id: "f1").objectValue
            #expect(record?["_deletedAt"] == .null)
            #expect(record?["name"] == "Barn 1" && record?["birds"] == 120)
        }
    }

    @Test func aRestoreBeatsAConcurrentDeletionStampedLater() async throws {
        let (a, b, c) = await (try lab.open("a"), try lab.open("b"), try lab.open("c"))
        let server = try await lab.open("server", role: .server)
        try await a.put("flocks", ["id": "f1", "name": "Barn 1"])
        try await DirectSync.settle([a, b, c], through: server)
        try await c.delete("flocks", id: "f1")
        try await DirectSync.settle([a, c], through: server)
        lab.clock.advance(milliseconds: 10)
        try await a.restore("flocks", id: "f1")
        // b has seen neither the deletion nor the restore, and deletes later by the clock.
        lab.clock.advance(milliseconds: 50)
        try await b.delete("flocks", id: "f1")
        try await DirectSync.settle([a, b, c], through: server)
        for replica in [a, b, c, server] {
            await #expect(try replica.get("flocks", id: "f1").objectValue?["_deletedAt"] == .null)
        }
        await #expect(try a.conflicts().map(\.kind) == [.editVsDelete])
    }

    @Test func deletedListsNewestFirstAndHonoursSince() async throws {
        let a = try await lab.open("a")
        for id in ["x", "y", "z"] { try await a.put("flocks", ["id": .string(id)]) }
        try await a.put("settings", ["lang": "es", "theme": "dark"])
        try await a.delete("flocks", id: "x")
        lab.clock.advance(milliseconds: 60_000)
        let cutoff = lab.clock.time
        try await a.delete("flocks", id: "y")
        try await a.delete("settings", id: "theme")
        let all = try await a.deleted()
        #expect(all.map(\.id) == ["theme", "y", "x"])
        #expect(all[0].collection == "settings" && all[0].deletedBy == a.deviceID)
        await #expect(try a.deleted(since: cutoff).map(\.id) == ["theme", "y"])
        await #expect(try a.deleted(limit: 1).map(\.id) == ["theme"])
        #expect(all[1].content["id"] == "y" && all[1].content["_deletedAt"] == nil)
        try await a.restore("settings", id: "theme")
        await #expect(try a.get("settings").objectValue?["theme"] == "dark")
        await #expect(try a.deleted().map(\.id) == ["y", "x"])
    }

    @Test func restoreRefusesWhatCannotBeRestored() async throws {
        let a = try await lab.open("a")
        try await a.put("flocks", ["id": "f1"])
        await #expect { try await a.restore("flocks", id: "nope") } throws: { ($0 as? ReplicaError)?.code == .notFound }
        await #expect { try await a.restore("flocks", id: nil) } throws: { ($0 as? ReplicaError)?.code == .badData }
        await #expect { try await a.restore("auditLog", id: "e1") } throws: { ($0 as? ReplicaError)?.code == .badData }
        await #expect { try await a.restore(CollectionName.conflictArchive, id: "abcd") } throws: { ($0 as? ReplicaError)?.code == .invalidName }
    }
}
