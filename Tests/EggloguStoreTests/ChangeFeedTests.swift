import EggloguCore
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Testing

@testable import EggloguStore

@Suite(.ownThreads) struct ChangeFeedTests {
    let lab = ReplicaLab()

    @Test func changesArePagedByKeysetWithNothingSkippedOrRepeated() async throws {
        let a = try await lab.open("a")
        for n in 0..<1_234 { try await a.put("flocks", ["id": .string("f\(n)")]) }
        try await a.delete("flocks", id: "f5")
        var seen: [String] = []
        var cursor: Int64 = 0
        var pages = 0
        while true {
            let page = try await a.changes(after: cursor, limit: 100)
            seen += page.changes.filter { $0.collection == "flocks" }.map(\.id)
            cursor = page.cursor
            pages += 1
            if !page.hasMore { break }
        }
        #expect(pages == 13)
        #expect(seen.count == 1_234)
        #expect(Set(seen).count == 1_234)
        #expect(seen.last == "f5")
    }

    @Test func unpushedChangesStayQueuedUntilPushedUnchanged() async throws {
        let a = try await lab.open("a")
        try await a.put("flocks", ["id": "f1"])
        try await a.put("flocks", ["id": "f2"])
        let batch = try await a.unpushed(limit: 10)
        #expect(batch.map(\.id) == ["f1", "blob", "f2"], "the first record of a collection also puts it into the layout")
        lab.clock.advance(milliseconds: 1)
        try await a.put("flocks", ["id": "f2", "edited": true])
        try await a.markPushed(batch)
        await #expect(try a.unpushed(limit: 10).map(\.id) == ["f2"])
        await #expect(try a.status().unpushed == 1)
    }

    @Test func pulledRecordsAreNotQueuedForPushing() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        try await a.put("flocks", ["id": "f1"])
        try await DirectSync.pull(from: a, into: b)
        await #expect(try b.unpushed(limit: 10).isEmpty)
        try await DirectSync.pull(from: a, into: b)
        await #expect(try b.headSequence() == 2, "merging the same versions twice assigns no new sequence number")
    }

    @Test func changeAndUnpushedQueriesUseIndexes() async throws {
        let a = try await lab.open("a")
        try await a.put("flocks", ["id": "f1"])
        let changes = try ReplicaLab.query(a, "EXPLAIN QUERY PLAN SELECT collection, id, seq, body FROM record WHERE seq > 0 ORDER BY seq LIMIT 10")
            .joined()
        let unpushed = try ReplicaLab.query(
            a,
            "EXPLAIN QUERY PLAN SELECT collection, id, seq, body FROM record WHERE dirty = 1 ORDER BY seq LIMIT 10"
        ).joined()
        #expect(changes.contains("USING INDEX record_by_seq"))
        #expect(unpushed.contains("USING INDEX record_unpushed"))
        let fullScan = /SCAN record(?! USING)/
        #expect(changes.firstMatch(of: fullScan) == nil && unpushed.firstMatch(of: fullScan) == nil)
    }

    @Test func theReplicaUsesWAL() async throws {
        let a = try await lab.open("a")
        #expect(try ReplicaLab.query(a, "PRAGMA journal_mode").first?.contains("wal") == true)
    }

    @Test func shippedMigrationsNeverChange() {
        let pinned = [
            "v1": "73e4b581f343f99c4c6de5712f502e96", "v2": "3476b1613f7468511d7bb5246381cfac", "v3": "c9cc2c132fc91e9cc1454d579c479437",
            "v4": "a9a8f4094a65dbfa75d5b2ea705d8f68",
        ]
        for migration in Schema.migrations {
            #expect(
                ContentHash.of(parts: [migration.sql]) == pinned[migration.identifier],
                "migration \(migration.identifier) changed after shipping"
            )
        }
    }

    @Test func badRemoteRecordsAreRejectedAloneAndTheRestLands() async throws {
        let a = try await lab.open("a")
        let now = lab.clock.time
        func record(_ id: String, at t: Timestamp) async -> JSONValue {
            ["id": .string(id), "_updatedAt": .string(t.iso8601), "_syncOrigin": "b"]
        }
        let report = try await a.merge(
            [
                (
                    "flocks",
                    [
                        record("ok1", at: now), 5, ["name": "no id", "_updatedAt": .string(now.iso8601)], ["id": "t", "_updatedAt": "later"],
                        record("future", at: now.adding(milliseconds: 3_600_000)), record("ok2", at: now),
                    ]
                ),
                ("bad..name", [record("x", at: now)]),
                ("auditLog", [["id": "e", "_updatedAt": .string(now.iso8601), "_deletedAt": .string(now.iso8601)]]),
            ],
            options: RemoteMergeOptions(rejectsFutureTimestamps: true)
        )
        #expect(report.accepted == 2)
        #expect(report.rejected.map(\.reason) == [.notObject, .missingID, .badTimestamp, .timestampInFuture, .badCollection, .badMetadata])
        await #expect(try a.get("flocks").arrayValue?.count == 2)
    }
}
