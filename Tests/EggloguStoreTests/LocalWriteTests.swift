import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct LocalWriteTests {
    let lab = ReplicaLab()

    func stamp(_ value: JSONValue) -> Timestamp? {
        value.objectValue?["_updatedAt"]?.stringValue.flatMap(Timestamp.init(iso8601:))
    }

    @Test func putCreatesRecordsWithAppStyleIDs() throws {
        let a = try lab.open("a")
        let created = try a.put("flocks", ["name": "Lote C", "_updatedAt": "2099-01-01T00:00:00Z", "_syncGen": 9])
        #expect(created.outcome == .created)
        #expect(created.id.count == 13)
        #expect(created.id.allSatisfy { $0.isNumber || ($0.isLowercase && $0.isASCII) })
        let record = try #require(try a.get("flocks", id: created.id).objectValue)
        #expect(record["id"]?.stringValue == created.id)
        #expect(stamp(.object(record)) == lab.clock.time)
        #expect(record["_syncGen"] == nil)
        #expect(try a.put("flocks", .object(record)).outcome == .unchanged)
    }

    @Test func deleteIsSoftAndPutRestoresOneGenerationUp() throws {
        let a = try lab.open("a")
        try a.put("flocks", ["id": "f1", "count": 1])
        lab.clock.advance(milliseconds: 5)
        #expect(try a.delete("flocks", id: "f1") == .deleted)
        #expect(try a.delete("flocks", id: "f1") == .alreadyDeleted)
        #expect(try a.get("flocks").arrayValue?.isEmpty == true)
        let tombstone = try #require(try a.get("flocks", id: "f1").objectValue)
        #expect(tombstone["count"] == 1)
        #expect(tombstone["_deletedAt"] == tombstone["_updatedAt"])
        #expect(try a.put("flocks", ["id": "f1", "count": 1]).outcome == .restored)
        #expect(try a.get("flocks", id: "f1").objectValue?["_syncGen"] == 1)
        #expect(throws: ReplicaError.self) { try a.delete("flocks", id: "missing") }
    }

    @Test func stampsStrictlyIncreaseAcrossRestartsEvenWhenTheWallClockGoesBack() throws {
        var last = Timestamp.epoch
        for n in 0..<3 {
            let a = try lab.open("a")
            for m in 0..<50 {
                try a.put("flocks", ["id": .string("f\(m % 3)"), "n": .number(JSONNumber(n * 100 + m))])
                let t = try #require(stamp(try a.get("flocks", id: .init("f\(m % 3)"))))
                #expect(t > last)
                last = t
            }
            lab.clock.advance(milliseconds: -10_000)
        }
    }

    @Test func anEditAfterAPullWinsOverWhatWasPulled() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        try b.put("flocks", ["id": "f1", "count": 1])
        // b's clock runs four minutes ahead (within the allowed skew).
        let ahead = lab.clock.time.adding(milliseconds: 240_000)
        let record: JSONValue = [
            "id": "f1", "count": 2, "_updatedAt": .string(ahead.iso8601), "_syncOrigin": "b",
            "_syncVV": ["b": .string(ahead.iso8601)],
        ]
        try a.merge([("flocks", [record])])
        try a.put("flocks", ["id": "f1", "count": 3])
        let edited = try a.get("flocks", id: "f1")
        #expect(try #require(stamp(edited)) > ahead)
        try Exchange.pull(from: a, into: b)
        #expect(try b.get("flocks", id: "f1").objectValue?["count"] == 3)
        #expect(try b.conflicts().isEmpty)
    }

    @Test func singletonsAreReplacedFieldByFieldAndValuesAsAWhole() throws {
        let a = try lab.open("a")
        try a.put("farm", ["name": "F", "capacity": 10])
        lab.clock.advance(milliseconds: 5)
        #expect(try a.put("farm", ["name": "F"]).outcome == .updated)
        #expect(try a.get("farm") == ["name": "F"])
        #expect(try a.get("farm", id: "name").objectValue?["_updatedAt"]?.stringValue != lab.clock.time.iso8601)
        #expect(try a.put("_clientCodeSeq", 41).outcome == .created)
        #expect(try a.put("_clientCodeSeq", 42).outcome == .updated)
        #expect(try a.get("_clientCodeSeq") == 42)
        #expect(try a.delete("_clientCodeSeq", id: nil) == .deleted)
        #expect(throws: ReplicaError.self) { try a.get("_clientCodeSeq") }
    }

    @Test(arguments: ["_conflictArchive", "_syncValues", "_syncAnything", "a.b.c", ""])
    func reservedAndInvalidNamesAreRefused(name: String) throws {
        let a = try lab.open("a")
        #expect(throws: ReplicaError.self) { try a.put(name, ["id": "x"]) }
    }

    @Test func aNestedParentPointsToItsCollections() throws {
        let a = try lab.open("a")
        try a.put("feed.purchases", ["id": "p1"])
        #expect(try a.get("feed.purchases").arrayValue?.count == 1)
        #expect {
            try a.get("feed")
        } throws: { error in
            "\(error)".contains("feed.purchases")
        }
    }

    @Test func aReplicaBelongsToOneDevice() throws {
        _ = try lab.open("a", device: "dev-1")
        #expect {
            _ = try lab.open("a", device: "dev-2")
        } throws: { error in
            (error as? ReplicaError)?.code == .deviceMismatch
        }
    }

    @Test func aFileThatIsNotAReplicaIsReportedAsUnreadable() throws {
        let path = lab.directory.file("junk.sqlite")
        try Array(repeating: "not a database ", count: 100).joined().write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try Replica.open(path: path)
        } throws: { error in
            (error as? ReplicaError)?.code == .unreadable
        }
    }
}
