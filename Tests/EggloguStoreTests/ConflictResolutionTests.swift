import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct ConflictResolutionTests {
    let lab = ReplicaLab()

    /// Two devices and a server; both devices start from the same record.
    func setUp() throws -> (a: Replica, b: Replica, server: Replica) {
        let a = try lab.open("a")
        let b = try lab.open("b")
        let server = try lab.open("server", role: .server)
        try a.put("flocks", ["id": "f1", "count": 1])
        try Exchange.settle([a, b], through: server)
        return (a, b, server)
    }


    @Test func concurrentEditsShowTheSameConflictEverywhereAndKeepMineWinsEverywhere() throws {
        let (a, b, server) = try setUp()
        lab.clock.advance(milliseconds: 10)
        try a.put("flocks", ["id": "f1", "count": 2])
        lab.clock.advance(milliseconds: 10)
        try b.put("flocks", ["id": "f1", "count": 3])
        try Exchange.settle([a, b], through: server)
        let onA = try a.conflicts()
        #expect(onA.count == 1)
        #expect(try b.conflicts() == onA)
        #expect(try server.conflicts() == onA)
        let entry = onA[0]
        #expect(entry.loser.content["count"] == 2)
        #expect(try a.get("flocks", id: "f1").objectValue?["count"] == 3)

        let result = try b.resolve(String(entry.id.prefix(8)), choice: .keepMine)
        #expect(result.republished?.content["count"] == 2)
        #expect {
            try b.resolve(entry.id, choice: .acceptTheirs)
        } throws: { error in
            (error as? ReplicaError)?.code == .alreadyResolved
        }
        try Exchange.settle([a, b], through: server)
        for replica in [a, b, server] {
            #expect(try replica.get("flocks", id: "f1").objectValue?["count"] == 2)
            #expect(try replica.conflicts().isEmpty)
            #expect(try replica.conflicts(includeResolved: true).first?.resolution?.choice == .keepMine)
        }
    }

    @Test func keepMineOnADeleteVsEditRestoresTheRecordEverywhere() throws {
        let (a, b, server) = try setUp()
        lab.clock.advance(milliseconds: 10)
        try a.delete("flocks", id: "f1")
        lab.clock.advance(milliseconds: 10)
        try b.put("flocks", ["id": "f1", "count": 7])
        try Exchange.settle([a, b], through: server)
        let entry = try #require(try a.conflicts().first)
        #expect(entry.kind == .deleteVsEdit)
        #expect(try b.get("flocks").arrayValue?.isEmpty == true)
        try a.resolve(entry.id, choice: .keepMine)
        try Exchange.settle([a, b], through: server)
        for replica in [a, b, server] {
            let record = try #require(try replica.get("flocks", id: "f1").objectValue)
            #expect(record["count"] == 7)
            #expect(record["_deletedAt"] == .null)
            #expect(try replica.conflicts().isEmpty)
        }
    }

    @Test func acceptTheirsDropsTheArchivedVersion() throws {
        let (a, b, server) = try setUp()
        lab.clock.advance(milliseconds: 10)
        try a.put("flocks", ["id": "f1", "count": 2])
        try b.put("flocks", ["id": "f1", "count": 3])
        try Exchange.settle([a, b], through: server)
        let entry = try #require(try a.conflicts().first)
        let winner = try a.get("flocks", id: "f1")
        let sequence = try a.headSequence()
        let result = try a.resolve(entry.id, choice: .acceptTheirs)
        #expect(result.republished == nil)
        #expect(try a.headSequence() == sequence + 1)
        try Exchange.settle([a, b], through: server)
        #expect(try b.get("flocks", id: "f1") == winner)
        #expect(try b.conflicts().isEmpty)
    }

    @Test func conflictIDsAreCheckedAndPrefixesMustBeUnique() throws {
        let (a, _, _) = try setUp()
        #expect {
            try a.resolve("abc", choice: .keepMine)
        } throws: { error in
            (error as? ReplicaError)?.code == .badData
        }
        #expect {
            try a.resolve("ffffffff", choice: .keepMine)
        } throws: { error in
            (error as? ReplicaError)?.code == .notFound
        }
    }
}
