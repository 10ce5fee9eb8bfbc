import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct ConflictResolutionTests {
    let lab = ReplicaLab()

    /// Two devices and a server; both devices start from the same record.
    func setUp() async throws -> (a: Replica, b: Replica, server: Replica) {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        let server = try await lab.open("server", role: .server)
        try await a.put("flocks", ["id": "f1", "count": 1])
        try await DirectSync.settle([a, b], through: server)
        return (a, b, server)
    }

    @Test func concurrentEditsShowTheSameConflictEverywhereAndKeepMineWinsEverywhere() async throws {
        let (a, b, server) = try await setUp()
        lab.clock.advance(milliseconds: 10)
        try await a.put("flocks", ["id": "f1", "count": 2])
        lab.clock.advance(milliseconds: 10)
        try await b.put("flocks", ["id": "f1", "count": 3])
        try await DirectSync.settle([a, b], through: server)
        let onA = try await a.conflicts()
        #expect(onA.count == 1)
        await #expect(try b.conflicts() == onA)
        await #expect(try server.conflicts() == onA)
        let entry = onA[0]
        #expect(entry.loser.content["count"] == 2)
        await #expect(try a.get("flocks", id: "f1").objectValue?["count"] == 3)

        let result = try await b.resolve(String(entry.id.prefix(8)), choice: .keepMine)
        #expect(result.republished?.content["count"] == 2)
        await #expect {
            try await b.resolve(entry.id, choice: .acceptTheirs)
        } throws: { error in
            (error as? ReplicaError)?.code == .alreadyResolved
        }
        try await DirectSync.settle([a, b], through: server)
        for replica in [a, b, server] {
            await #expect(try replica.get("flocks", id: "f1").objectValue?["count"] == 2)
            await #expect(try replica.conflicts().isEmpty)
            await #expect(try replica.conflicts(includeResolved: true).first?.resolution?.choice == .keepMine)
        }
    }

    @Test func keepMineOnADeleteVsEditRestoresTheRecordEverywhere() async throws {
        let (a, b, server) = try await setUp()
        lab.clock.advance(milliseconds: 10)
        try await a.delete("flocks", id: "f1")
        lab.clock.advance(milliseconds: 10)
        try await b.put("flocks", ["id": "f1", "count": 7])
        try await DirectSync.settle([a, b], through: server)
        let entry = try await #require(try a.conflicts().first)
        #expect(entry.kind == .deleteVsEdit)
        await #expect(try b.get("flocks").arrayValue?.isEmpty == true)
        try await a.resolve(entry.id, choice: .keepMine)
        try await DirectSync.settle([a, b], through: server)
        for replica in [a, b, server] {
            let record = try await #require(try replica.get("flocks", id: "f1").objectValue)
            #expect(record["count"] == 7)
            #expect(record["_deletedAt"] == .null)
            await #expect(try replica.conflicts().isEmpty)
        }
    }

    @Test func acceptTheirsDropsTheArchivedVersion() async throws {
        let (a, b, server) = try await setUp()
        lab.clock.advance(milliseconds: 10)
        try await a.put("flocks", ["id": "f1", "count": 2])
        try await b.put("flocks", ["id": "f1", "count": 3])
        try await DirectSync.settle([a, b], through: server)
        let entry = try await #require(try a.conflicts().first)
        let winner = try await a.get("flocks", id: "f1")
        let sequence = try await a.headSequence()
        let result = try await a.resolve(entry.id, choice: .acceptTheirs)
        #expect(result.republished == nil)
        await #expect(try a.headSequence() == sequence + 1)
        try await DirectSync.settle([a, b], through: server)
        await #expect(try b.get("flocks", id: "f1") == winner)
        await #expect(try b.conflicts().isEmpty)
    }

    @Test func conflictIDsAreCheckedAndPrefixesMustBeUnique() async throws {
        let (a, _, _) = try await setUp()
        await #expect {
            try await a.resolve("abc", choice: .keepMine)
        } throws: { error in
            (error as? ReplicaError)?.code == .badData
        }
        await #expect {
            try await a.resolve("ffffffff", choice: .keepMine)
        } throws: { error in
            (error as? ReplicaError)?.code == .notFound
        }
    }
}
