import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct ImportExportTests {
    let lab = ReplicaLab()

    func exported(_ replica: Replica) throws -> JSONValue {
        try JSONParser().parse(replica.exportBlob())
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared beside the checkout"))
    func theSharedSampleRoundTrips() throws {
        let replica = try lab.open("a")
        let original = try JSONParser().parse(SharedData.sampleBytes)
        let report = try replica.importBlob(SharedData.sampleBytes)
        #expect(report.added == report.records && report.records > 50)
        let out = try exported(replica)
        #expect(out.withoutSyncMetadata == original)
        #expect(out.objectValue!.keys == original.objectValue!.keys)
        let flock = try #require(out.objectValue?["flocks"]?.arrayValue?.first?.objectValue)
        #expect(flock["_updatedAt"] == "1970-01-01T00:00:00.000Z")
        #expect(flock["_deletedAt"] == .null)
        #expect(flock["_syncOrigin"] == "a")
        #expect(flock["curveAdjust"]?.numberValue?.literal == "1.0")
        #expect(out.objectValue?["farm"] == original.objectValue?["farm"])
        #expect(out.objectValue?["auditLog"] == original.objectValue?["auditLog"])
        #expect(out.objectValue?["_conflictArchive"] == nil)
    }

    @Test func aGeneratedLargeFarmRoundTrips() throws {
        let replica = try lab.open("a")
        let blob = FarmGenerator(size: .large, seed: 7).blob()
        let bytes = blob.serialized()
        #expect(bytes.count > 4_000_000 && bytes.count < 5_500_000)
        _ = try replica.importBlob(bytes)
        let out = try exported(replica)
        #expect(out.withoutSyncMetadata == blob)
        #expect(out.objectValue!.keys == blob.objectValue!.keys)
        #expect(out.objectValue?["dailyProduction"]?.arrayValue?.count == 10_000)
    }

    @Test func reimportingTheSameBlobChangesNothing() throws {
        let replica = try lab.open("a")
        _ = try replica.importBlob(SmallFarm.bytes)
        let before = try ReplicaLab.fingerprint(replica)
        lab.clock.advance(milliseconds: 60_000)
        let again = try replica.importBlob(SmallFarm.bytes)
        #expect(again.unchanged == again.records)
        #expect(again.added + again.updated + again.deleted + again.conflicts == 0)
        #expect(try ReplicaLab.fingerprint(replica).replacingLastImport == before.replacingLastImport)
    }

    @Test func theSameFarmImportedOnTwoDevicesNeverConflicts() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        _ = try a.importBlob(SmallFarm.bytes)
        lab.clock.advance(milliseconds: 5_000)
        _ = try b.importBlob(SmallFarm.bytes)
        try Exchange.pull(from: a, into: b)
        try Exchange.pull(from: b, into: a)
        #expect(try a.conflicts(includeResolved: true).isEmpty)
        #expect(try b.conflicts(includeResolved: true).isEmpty)
        #expect(try a.exportBlob() == b.exportBlob())
    }

    @Test func recordsChangedSinceThePreviousImportAreStampedNowAndWin() throws {
        let a = try lab.open("a")
        _ = try a.importBlob(blob(flocks: [["id": "f1", "count": 10], ["id": "f2", "count": 20]]))
        lab.clock.advance(milliseconds: 1_000)
        let report = try a.importBlob(blob(flocks: [["id": "f1", "count": 11], ["id": "f2", "count": 20]]))
        #expect(report.updated == 1 && report.unchanged == 1)
        let f1 = try #require(a.get("flocks", id: "f1").objectValue)
        #expect(f1["count"] == 11)
        #expect(f1["_updatedAt"]?.stringValue == lab.clock.time.iso8601)
    }

    @Test func absentRecordsAreDeletedOnlyIfThePreviousImportHadThem() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        _ = try a.importBlob(blob(flocks: [["id": "f1"], ["id": "f2"]]))
        try b.put("flocks", ["id": "fromB", "name": "other device"])
        try Exchange.pull(from: b, into: a)
        lab.clock.advance(milliseconds: 1_000)
        let report = try a.importBlob(blob(flocks: [["id": "f1"]]))
        #expect(report.deleted == 1)
        #expect(try a.get("flocks", id: "f2").objectValue?["_deletedAt"] != .null)
        #expect(try a.get("flocks", id: "fromB").objectValue?["_deletedAt"] == .null)
        let pruned = try a.importBlob(blob(flocks: [["id": "f1"]]), options: ImportOptions(prune: true))
        #expect(pruned.deleted == 1)
        #expect(try a.get("flocks", id: "fromB").objectValue?["_deletedAt"] != .null)
    }

    @Test func aBlobWithoutACollectionDeletesNothingInIt() throws {
        let a = try lab.open("a")
        _ = try a.importBlob(json(["flocks": [["id": "f1"]], "clients": [["id": "c1"]]]).serialized())
        let report = try a.importBlob(blob(flocks: [["id": "f1"]]))
        #expect(report.deleted == 0)
        #expect(try a.get("clients").arrayValue?.count == 1)
    }

    @Test func aStaleExportNeverOverridesLiveDataAndItsEditIsKeptForReview() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        _ = try a.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
        try Exchange.pull(from: a, into: b)
        #expect(try b.importBlob(blob(flocks: [["id": "f1", "count": 1]])).unchanged == 1)
        lab.clock.advance(milliseconds: 1_000)
        try a.put("flocks", ["id": "f1", "count": 2])
        try Exchange.pull(from: a, into: b)
        lab.clock.advance(milliseconds: 1_000)
        for replica in [a, b] {
            let stale = try replica.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
            #expect(stale.stale == 1 && stale.updated == 0)
            #expect(try replica.get("flocks", id: "f1").objectValue?["count"] == 2)
            #expect(try replica.conflicts().isEmpty)
        }
        // A device that never imported this farm cannot tell which copy is newer:
        // the live version stays and the blob's copy is archived for review.
        let c = try lab.open("c")
        try Exchange.pull(from: a, into: c)
        let first = try c.importBlob(blob(flocks: [["id": "f1", "count": 99]]))
        #expect(first.stale == 1 && first.conflicts == 1)
        #expect(try c.get("flocks", id: "f1").objectValue?["count"] == 2)
        let entry = try #require(try c.conflicts().first)
        #expect(entry.loser.content["count"] == 99)
        #expect(entry.kind == .concurrentEdit)
    }

    @Test func anEditMadeInTheAppAfterAPullWins() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        _ = try b.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
        try Exchange.pull(from: b, into: a)
        lab.clock.advance(milliseconds: 1_000)
        try a.put("flocks", ["id": "f1", "count": 2])
        try Exchange.pull(from: a, into: b)
        lab.clock.set(Timestamp(milliseconds: 1_000))
        let report = try b.importBlob(blob(flocks: [["id": "f1", "count": 3]]))
        #expect(report.updated == 1)
        let f1 = try #require(b.get("flocks", id: "f1").objectValue)
        #expect(f1["count"] == 3)
        #expect(try b.conflicts().count == 1, "the edit did not see count 2, so 2 is kept for review")
        try Exchange.pull(from: b, into: a)
        #expect(try a.get("flocks", id: "f1").objectValue?["count"] == 3)
    }

    @Test func futureTimestampsAreClampedToNowPlusTheSkew() throws {
        let a = try lab.open("a")
        let future = "2099-01-01T00:00:00.000Z"
        let report = try a.importBlob(
            blob(flocks: [
                ["id": "f1", "_updatedAt": .string(future)],
                ["id": "f2", "_updatedAt": .string(future), "_syncOrigin": "x", "_syncVV": ["x": .string(future)]],
            ]))
        #expect(report.clamped == 2)
        let limit = lab.clock.time.adding(milliseconds: HybridLogicalClock.defaultMaxSkewMilliseconds).iso8601
        #expect(try a.get("flocks", id: "f1").objectValue?["_updatedAt"]?.stringValue == limit)
        #expect(try a.get("flocks", id: "f2").objectValue?["_updatedAt"]?.stringValue == limit)
        #expect(try a.status().clockHigh <= Timestamp(iso8601: limit)!)
        lab.clock.advance(milliseconds: 10)
        try a.put("flocks", ["id": "f3"])
        let stamp = try #require(Timestamp(iso8601: a.get("flocks", id: "f3").objectValue?["_updatedAt"]?.stringValue ?? ""))
        #expect(stamp > Timestamp(iso8601: limit)!)
        #expect(stamp.milliseconds - lab.clock.time.milliseconds <= HybridLogicalClock.defaultMaxSkewMilliseconds)
    }

    @Test func singletonFieldsMergePerFieldAndRemovalsPropagate() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        _ = try a.importBlob(json(["farm": ["name": "F", "capacity": 100, "lat": 1]]).serialized())
        try Exchange.pull(from: a, into: b)
        lab.clock.advance(milliseconds: 1_000)
        _ = try a.importBlob(json(["farm": ["name": "F2", "capacity": 100]]).serialized())
        try b.put("settings", ["darkMode": true])
        try Exchange.pull(from: a, into: b)
        #expect(try b.get("farm") == ["name": "F2", "capacity": 100])
        #expect(try b.get("farm", id: "lat").objectValue?["_deletedAt"] != .null)
        #expect(try b.get("farm", id: "capacity").objectValue?["_updatedAt"] == "1970-01-01T00:00:00.000Z")
        #expect(try b.exportBlob().count > 0)
    }

    @Test func auditLogEntriesUnionWithoutDuplicatesAndExportWithoutSynthesizedIDs() throws {
        let a = try lab.open("a")
        let b = try lab.open("b")
        let entry: JSONValue = ["ts": "2026-03-01T09:12:44.101Z", "user": "Admin", "action": "create"]
        _ = try a.importBlob(json(["auditLog": [entry]]).serialized())
        _ = try b.importBlob(json(["auditLog": [entry, ["id": "own-id", "ts": "x"]]]).serialized())
        try Exchange.pull(from: a, into: b)
        try Exchange.pull(from: b, into: a)
        #expect(try a.get("auditLog").arrayValue?.count == 2)
        #expect(try b.get("auditLog").arrayValue?.count == 2)
        let exported = try JSONParser().parse(a.exportBlob()).objectValue?["auditLog"]?.arrayValue ?? []
        #expect(exported.contains(entry))
        #expect(exported.contains(["id": "own-id", "ts": "x"]))
        #expect(throws: ReplicaError.self) { try a.delete("auditLog", id: "own-id") }
    }

    @Test func otherTopLevelValuesSurviveAndMergeAsAWhole() throws {
        let a = try lab.open("a")
        _ = try a.importBlob(json(["_clientCodeSeq": 7, "kpiSnapshots": [["date": "d"]], "future": ["x": [1]]]).serialized())
        lab.clock.advance(milliseconds: 1_000)
        let report = try a.importBlob(json(["_clientCodeSeq": 8, "kpiSnapshots": [["date": "d"]], "future": ["x": [1]]]).serialized())
        #expect(report.updated == 1 && report.unchanged == 2)
        #expect(try a.get("_clientCodeSeq") == 8)
        #expect(try exported(a) == ["_clientCodeSeq": 8, "kpiSnapshots": [["date": "d"]], "future": ["x": [1]]])
        let dropped = try a.importBlob(json(["kpiSnapshots": [["date": "d"]], "future": ["x": [1]]]).serialized())
        #expect(dropped.deleted == 1)
        #expect(try exported(a).objectValue?["_clientCodeSeq"] == nil)
    }

    @Test func collectionNamesAreNeverInterpolatedIntoSQL() throws {
        let a = try lab.open("a")
        let hostile = "x'); DROP TABLE record; --"
        let blob = JSONValue.object(JSONObject([(hostile, [["id": "1", "v": "'; DELETE FROM meta; --"]] as JSONValue)]))
        _ = try a.importBlob(blob.serialized())
        #expect(try exported(a).withoutSyncMetadata == blob)
        #expect(try a.get(hostile).arrayValue?.count == 1)
        #expect(try ReplicaLab.query(a, "SELECT name FROM sqlite_master WHERE name = 'record'").count == 1)
    }

    @Test func anExportedArchiveReimportsWithoutChange() throws {
        let a = try lab.open("a")
        let c = try lab.open("c")
        _ = try a.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
        try Exchange.pull(from: a, into: c)
        _ = try c.importBlob(blob(flocks: [["id": "f1", "count": 5]]))
        let export = try c.exportBlob()
        #expect(try JSONParser().parse(export).objectValue?["_conflictArchive"]?.arrayValue?.count == 1)
        let sequence = try c.headSequence()
        let report = try c.importBlob(export)
        #expect(report.conflicts == 0 && report.updated == 0 && report.added == 0)
        #expect(try c.headSequence() == sequence)
        let before = try ReplicaLab.fingerprint(c)
        _ = try c.importBlob(export)
        #expect(try ReplicaLab.fingerprint(c).replacingLastImport == before.replacingLastImport)
    }

    func json(_ value: JSONValue) -> JSONValue { value }

    func blob(flocks: [JSONValue]) -> [UInt8] {
        json(["flocks": .array(flocks)]).serialized()
    }
}

extension String {
    /// The fingerprint without the last-import summary, which records when it ran.
    var replacingLastImport: String {
        split(separator: "\n").filter { !$0.contains("last_import") }.joined(separator: "\n")
    }
}
