import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import GRDB
import Synchronization
import Testing

@Suite(.ownThreads) struct LocalWriteTests {
    let lab = ReplicaLab()

    func stamp(_ value: JSONValue) -> Timestamp? {
        value.objectValue?["_updatedAt"]?.stringValue.flatMap(Timestamp.init(iso8601:))
    }

    @Test func putCreatesRecordsWithAppStyleIDs() async throws {
        let a = try await lab.open("a")
        let created = try await a.put("flocks", ["name": "Lote C", "_updatedAt": "2099-01-01T00:00:00Z", "_syncGen": 9])
        #expect(created.outcome == .created)
        #expect(created.id.count == 13)
        #expect(created.id.allSatisfy { $0.isNumber || ($0.isLowercase && $0.isASCII) })
        let record = try await #require(try a.get("flocks", id: created.id).objectValue)
        #expect(record["id"]?.stringValue == created.id)
        #expect(stamp(.object(record)) == lab.clock.time)
        #expect(record["_syncGen"] == nil)
        await #expect(try a.put("flocks", .object(record)).outcome == .unchanged)
    }

    @Test func deleteIsSoftAndPutRestoresOneGenerationUp() async throws {
        let a = try await lab.open("a")
        try await a.put("flocks", ["id": "f1", "count": 1])
        lab.clock.advance(milliseconds: 5)
        await #expect(try a.delete("flocks", id: "f1") == .deleted)
        await #expect(try a.delete("flocks", id: "f1") == .alreadyDeleted)
        await #expect(try a.get("flocks").arrayValue?.isEmpty == true)
        let tombstone = try await #require(try a.get("flocks", id: "f1").objectValue)
        #expect(tombstone["count"] == 1)
        #expect(tombstone["_deletedAt"] == tombstone["_updatedAt"])
        await #expect(try a.put("flocks", ["id": "f1", "count": 1]).outcome == .restored)
        await #expect(try a.get("flocks", id: "f1").objectValue?["_syncGen"] == 1)
        await #expect(throws: ReplicaError.self) { try await a.delete("flocks", id: "missing") }
    }

    @Test func stampsStrictlyIncreaseAcrossRestartsEvenWhenTheWallClockGoesBack() async throws {
        var last = Timestamp.epoch
        for n in 0..<3 {
            let a = try await lab.open("a")
            for m in 0..<50 {
                try await a.put("flocks", ["id": .string("f\(m % 3)"), "n": .number(JSONNumber(n * 100 + m))])
                let t = try await #require(stamp(try a.get("flocks", id: .init("f\(m % 3)"))))
                #expect(t > last)
                last = t
            }
            lab.clock.advance(milliseconds: -10_000)
        }
    }

    /// A stamp that must wait for the clock (a merged version sits at the skew limit) waits with
    /// no transaction open: another writer gets the database meanwhile, and the write lands after.
    @Test func waitingForTheClockHoldsNoLock() async throws {
        let a = try await lab.open("a")
        let limit = lab.clock.time.adding(milliseconds: HybridLogicalClock.defaultMaxSkewMilliseconds + 500)
        let record: JSONValue = [
            "id": "f1", "count": 2, "_updatedAt": .string(limit.iso8601), "_syncOrigin": "b", "_syncVV": ["b": .string(limit.iso8601)],
        ]
        _ = try await a.merge([("flocks", [record])])
        let landed = Mutex(false)
        let edit = Task {
            defer { landed.withLock { $0 = true } }
            return try await a.put("flocks", ["id": "f1", "count": 3])
        }
        // The edit waits up to 2 s in all, between attempts of a moment each. Another writer that
        // waits up to 1 s for the lock gets in while the edit still waits, unless the edit holds
        // the lock through its wait. (Fixed pauses and no waiting for the lock failed on a loaded
        // CI machine: a try met one of the edit's attempts.)
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        let other = try DatabaseQueue(path: a.path, configuration: configuration)
        var gotInWhileTheEditWaited = false
        while !landed.withLock({ $0 }) {
            do {
                try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE; COMMIT") }
                gotInWhileTheEditWaited = !landed.withLock { $0 }
                break
            } catch {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(gotInWhileTheEditWaited)
        #expect(try await edit.value.outcome == .updated, "the edit lands once the clock gave up waiting")
        #expect(try #require(stamp(try await a.get("flocks", id: "f1"))) > limit)
    }

    @Test func anEditAfterAPullWinsOverWhatWasPulled() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        try await b.put("flocks", ["id": "f1", "count": 1])
        // b's clock runs four minutes ahead (within the allowed skew).
        let ahead = lab.clock.time.adding(milliseconds: 240_000)
        let record: JSONValue = [
            "id": "f1", "count": 2, "_updatedAt": .string(ahead.iso8601), "_syncOrigin": "b",
            "_syncVV": ["b": .string(ahead.iso8601)],
        ]
        _ = try await a.merge([("flocks", [record])])
        try await a.put("flocks", ["id": "f1", "count": 3])
        let edited = try await a.get("flocks", id: "f1")
        #expect(try #require(stamp(edited)) > ahead)
        try await DirectSync.pull(from: a, into: b)
        await #expect(try b.get("flocks", id: "f1").objectValue?["count"] == 3)
        await #expect(try b.conflicts().isEmpty)
    }

    @Test func singletonsAreReplacedFieldByFieldAndValuesAsAWhole() async throws {
        let a = try await lab.open("a")
        try await a.put("farm", ["name": "F", "capacity": 10])
        lab.clock.advance(milliseconds: 5)
        await #expect(try a.put("farm", ["name": "F"]).outcome == .updated)
        await #expect(try a.get("farm") == ["name": "F"])
        await #expect(try a.get("farm", id: "name").objectValue?["_updatedAt"]?.stringValue != lab.clock.time.iso8601)
        await #expect(try a.put("_clientCodeSeq", 41).outcome == .created)
        await #expect(try a.put("_clientCodeSeq", 42).outcome == .updated)
        await #expect(try a.get("_clientCodeSeq") == 42)
        await #expect(try a.delete("_clientCodeSeq", id: nil) == .deleted)
        await #expect(throws: ReplicaError.self) { try await a.get("_clientCodeSeq") }
    }

    @Test(arguments: ["_conflictArchive", "_syncValues", "_syncAnything", "a.b.c", ""])
    func reservedAndInvalidNamesAreRefused(name: String) async throws {
        let a = try await lab.open("a")
        await #expect(throws: ReplicaError.self) { try await a.put(name, ["id": "x"]) }
    }

    @Test func aNestedParentPointsToItsCollections() async throws {
        let a = try await lab.open("a")
        try await a.put("feed.purchases", ["id": "p1"])
        await #expect(try a.get("feed.purchases").arrayValue?.count == 1)
        await #expect {
            try await a.get("feed")
        } throws: { error in
            "\(error)".contains("feed.purchases")
        }
    }

    @Test func aReplicaBelongsToOneDevice() async throws {
        _ = try await lab.open("a", device: "dev-1")
        await #expect {
            _ = try await lab.open("a", device: "dev-2")
        } throws: { error in
            (error as? ReplicaError)?.code == .deviceMismatch
        }
    }

    @Test func aFileThatIsNotAReplicaIsReportedAsUnreadable() async throws {
        let path = lab.directory.file("junk.sqlite")
        try Array(repeating: "not a database ", count: 100).joined().write(toFile: path, atomically: true, encoding: .utf8)
        await #expect {
            _ = try await Replica.open(path: path)
        } throws: { error in
            (error as? ReplicaError)?.code == .unreadable
        }
    }
}
