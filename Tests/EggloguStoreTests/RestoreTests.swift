import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct RestoreTests {
    let lab = ReplicaLab()


    @Test func aRestoreBringsTheDeletedContentBackEverywhereAndBeatsTheDeletion() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        let server = try lab.open("server", role: .server)
        try a.put("flocks", ["id": "f1", "name": "Barn 1", "birds": 120])
        try Exchange.settle([a, b], through: server)
        lab.clock.advance(milliseconds: 10)
        try b.delete("flocks", id: "f1")
        try Exchange.settle([a, b], through: server)
        #expect(try a.get("flocks", id: "f1").objectValue?["_deletedAt"]?.stringValue != nil)

        lab.clock.advance(milliseconds: 10)
        #expect(try a.restore("flocks", id: "f1") == .restored)
        #expect(try a.restore("flocks", id: "f1") == .alreadyLive)
        try Exchange.settle([a, b], through: server)
        for replica in [a, b, server] {
            let record = try replica.get("flocks", id: "f1").objectValue
            #expect(record?["_deletedAt"] == .null)
            #expect(record?["name"] == "Barn 1" && record?["birds"] == 120)
        }
    }

    @Test func aRestoreBeatsAConcurrentDeletionStampedLater() throws {
        let (a, b, c) = (try lab.open("a"), try lab.open("b"), try lab.open("c"))
        let server = try lab.open("server", role: .server)
        try a.put("flocks", ["id": "f1", "name": "Barn 1"])
        try Exchange.settle([a, b, c], through: server)
        try c.delete("flocks", id: "f1")
        try Exchange.settle([a, c], through: server)
        lab.clock.advance(milliseconds: 10)
        try a.restore("flocks", id: "f1")
        // b has seen neither the deletion nor the restore, and deletes later by the clock.
        lab.clock.advance(milliseconds: 50)
        try b.delete("flocks", id: "f1")
        try Exchange.settle([a, b, c], through: server)
        for replica in [a, b, c, server] {
            #expect(try replica.get("flocks", id: "f1").objectValue?["_deletedAt"] == .null)
        }
        #expect(try a.conflicts().map(\.kind) == [.editVsDelete])
    }

    @Test func deletedListsNewestFirstAndHonoursSince() throws {
        let a = try lab.open("a")
        for id in ["x", "y", "z"] { try a.put("flocks", ["id": .string(id)]) }
        try a.put("settings", ["lang": "es", "theme": "dark"])
        try a.delete("flocks", id: "x")
        lab.clock.advance(milliseconds: 60_000)
        let cutoff = lab.clock.time
        try a.delete("flocks", id: "y")
        try a.delete("settings", id: "theme")
        let all = try a.deleted()
        #expect(all.map(\.id) == ["theme", "y", "x"])
        #expect(all[0].collection == "settings" && all[0].deletedBy == a.deviceID)
        #expect(try a.deleted(since: cutoff).map(\.id) == ["theme", "y"])
        #expect(try a.deleted(limit: 1).map(\.id) == ["theme"])
        #expect(all[1].content["id"] == "y" && all[1].content["_deletedAt"] == nil)
        try a.restore("settings", id: "theme")
        #expect(try a.get("settings").objectValue?["theme"] == "dark")
        #expect(try a.deleted().map(\.id) == ["y", "x"])
    }

    @Test func restoreRefusesWhatCannotBeRestored() throws {
        let a = try lab.open("a")
        try a.put("flocks", ["id": "f1"])
        #expect { try a.restore("flocks", id: "nope") } throws: { ($0 as? ReplicaError)?.code == .notFound }
        #expect { try a.restore("flocks", id: nil) } throws: { ($0 as? ReplicaError)?.code == .badData }
        #expect { try a.restore("auditLog", id: "e1") } throws: { ($0 as? ReplicaError)?.code == .badData }
        #expect { try a.restore(CollectionName.conflictArchive, id: "abcd") } throws: { ($0 as? ReplicaError)?.code == .invalidName }
    }
}
