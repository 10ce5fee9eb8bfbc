import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct ImportExportTests {
    let lab = ReplicaLab()

    func exported(_ replica: Replica) async throws -> JSONValue {
        try await JSONParser().parse(replica.exportBlob())
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared beside the checkout"))
    func theSharedSampleRoundTrips() async throws {
        let replica = try await lab.open("a")
        let original = try JSONParser().parse(SharedData.sampleBytes)
        let report = try await replica.importBlob(SharedData.sampleBytes)
        #expect(report.added == report.records && report.records > 50)
        let out = try await exported(replica)
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

    @Test func aGeneratedLargeFarmRoundTrips() async throws {
        let replica = try await lab.open("a")
        let blob = FarmGenerator(size: .large, seed: 7).blob()
        let bytes = blob.serialized()
        #expect(bytes.count > 4_000_000 && bytes.count < 5_500_000)
        _ = try await replica.importBlob(bytes)
        let out = try await exported(replica)
        #expect(out.withoutSyncMetadata == blob)
        #expect(out.objectValue!.keys == blob.objectValue!.keys)
        #expect(out.objectValue?["dailyProduction"]?.arrayValue?.count == 10_000)
    }

    @Test func reimportingTheSameBlobChangesNothing() async throws {
        let replica = try await lab.open("a")
        _ = try await replica.importBlob(SmallFarm.bytes)
        let before = try ReplicaLab.fingerprint(replica)
        lab.clock.advance(milliseconds: 60_000)
        let again = try await replica.importBlob(SmallFarm.bytes)
        #expect(again.unchanged == again.records)
        #expect(again.added + again.updated + again.deleted + again.conflicts == 0)
        #expect(try ReplicaLab.fingerprint(replica).replacingLastImport == before.replacingLastImport)
    }

    @Test func theSameFarmImportedOnTwoDevicesNeverConflicts() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        _ = try await a.importBlob(SmallFarm.bytes)
        lab.clock.advance(milliseconds: 5_000)
        _ = try await b.importBlob(SmallFarm.bytes)
        try await DirectSync.pull(from: a, into: b)
        try await DirectSync.pull(from: b, into: a)
        await #expect(try a.conflicts(includeResolved: true).isEmpty)
        await #expect(try b.conflicts(includeResolved: true).isEmpty)
        await #expect(try a.exportBlob() == b.exportBlob())
    }

    @Test func recordsChangedSinceThePreviousImportAreStampedNowAndWin() async throws {
        let a = try await lab.open("a")
        _ = try await a.importBlob(blob(flocks: [["id": "f1", "count": 10], ["id": "f2", "count": 20]]))
        lab.clock.advance(milliseconds: 1_000)
        let report = try await a.importBlob(blob(flocks: [["id": "f1", "count": 11], ["id": "f2", "count": 20]]))
        #expect(report.updated == 1 && report.unchanged == 1)
        let f1 = try await #require(a.get("flocks", id: "f1").objectValue)
        #expect(f1["count"] == 11)
        #expect(f1["_updatedAt"]?.stringValue == lab.clock.time.iso8601)
    }

    @Test func absentRecordsAreDeletedOnlyIfThePreviousImportHadThem() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        _ = try await a.importBlob(blob(flocks: [["id": "f1"], ["id": "f2"]]))
        try await b.put("flocks", ["id": "fromB", "name": "other device"])
        try await DirectSync.pull(from: b, into: a)
        lab.clock.advance(milliseconds: 1_000)
        let report = try await a.importBlob(blob(flocks: [["id": "f1"]]))
        #expect(report.deleted == 1)
        await #expect(try a.get("flocks", id: "f2").objectValue?["_deletedAt"] != .null)
        await #expect(try a.get("flocks", id: "fromB").objectValue?["_deletedAt"] == .null)
        let pruned = try await a.importBlob(blob(flocks: [["id": "f1"]]), options: ImportOptions(prune: true))
        #expect(pruned.deleted == 1)
        await #expect(try a.get("flocks", id: "fromB").objectValue?["_deletedAt"] != .null)
    }

    @Test func aBlobWithoutACollectionDeletesNothingInIt() async throws {
        let a = try await lab.open("a")
        _ = try await a.importBlob(json(["flocks": [["id": "f1"]], "clients": [["id": "c1"]]]).serialized())
        let report = try await a.importBlob(blob(flocks: [["id": "f1"]]))
        #expect(report.deleted == 0)
        await #expect(try a.get("clients").arrayValue?.count == 1)
    }

    @Test func aStaleExportNeverOverridesLiveDataAndItsEditIsKeptForReview() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        _ = try await a.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
        try await DirectSync.pull(from: a, into: b)
        await #expect(try b.importBlob(blob(flocks: [["id": "f1", "count": 1]])).unchanged == 1)
        lab.clock.advance(milliseconds: 1_000)
        try await a.put("flocks", ["id": "f1", "count": 2])
        try await DirectSync.pull(from: a, into: b)
        lab.clock.advance(milliseconds: 1_000)
        for replica in [a, b] {
            let stale = try await replica.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
            #expect(stale.stale == 1 && stale.updated == 0)
            await #expect(try replica.get("flocks", id: "f1").objectValue?["count"] == 2)
            await #expect(try replica.conflicts().isEmpty)
        }
        // A device that never imported this farm cannot tell which copy is newer:
        // the live version stays and the blob's copy is archived for review.
        let c = try await lab.open("c")
        try await DirectSync.pull(from: a, into: c)
        let first = try await c.importBlob(blob(flocks: [["id": "f1", "count": 99]]))
        #expect(first.stale == 1 && first.conflicts == 1)
        await #expect(try c.get("flocks", id: "f1").objectValue?["count"] == 2)
        let entry = try await #require(try c.conflicts().first)
        #expect(entry.loser.content["count"] == 99)
        #expect(entry.kind == .concurrentEdit)
    }

    @Test func anEditMadeInTheAppAfterAPullWins() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        _ = try await b.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
        try await DirectSync.pull(from: b, into: a)
        lab.clock.advance(milliseconds: 1_000)
        try await a.put("flocks", ["id": "f1", "count": 2])
        try await DirectSync.pull(from: a, into: b)
        lab.clock.set(Timestamp(milliseconds: 1_000))
        let report = try await b.importBlob(blob(flocks: [["id": "f1", "count": 3]]))
        #expect(report.updated == 1)
        let f1 = try await #require(b.get("flocks", id: "f1").objectValue)
        #expect(f1["count"] == 3)
        await #expect(try b.conflicts().count == 1, "the edit did not see count 2, so 2 is kept for review")
        try await DirectSync.pull(from: b, into: a)
        await #expect(try a.get("flocks", id: "f1").objectValue?["count"] == 3)
    }

    @Test func futureTimestampsAreClampedToNowPlusTheSkew() async throws {
        let a = try await lab.open("a")
        let future = "2099-01-01T00:00:00.000Z"
        let report = try await a.importBlob(
            blob(flocks: [
                ["id": "f1", "_updatedAt": .string(future)],
                ["id": "f2", "_updatedAt": .string(future), "_syncOrigin": "x", "_syncVV": ["x": .string(future)]],
            ])
        )
        #expect(report.clamped == 2)
        let limit = lab.clock.time.adding(milliseconds: HybridLogicalClock.defaultMaxSkewMilliseconds).iso8601
        await #expect(try a.get("flocks", id: "f1").objectValue?["_updatedAt"]?.stringValue == limit)
        await #expect(try a.get("flocks", id: "f2").objectValue?["_updatedAt"]?.stringValue == limit)
        await #expect(try a.status().clockHigh <= Timestamp(iso8601: limit)!)
        lab.clock.advance(milliseconds: 10)
        try await a.put("flocks", ["id": "f3"])
        let stamp = try #require(Timestamp(iso8601: await a.get("flocks", id: "f3").objectValue?["_updatedAt"]?.stringValue ?? ""))
        #expect(stamp > Timestamp(iso8601: limit)!)
        #expect(stamp.milliseconds - lab.clock.time.milliseconds <= HybridLogicalClock.defaultMaxSkewMilliseconds)
    }

    @Test func singletonFieldsMergePerFieldAndRemovalsPropagate() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        _ = try await a.importBlob(json(["farm": ["name": "F", "capacity": 100, "lat": 1]]).serialized())
        try await DirectSync.pull(from: a, into: b)
        lab.clock.advance(milliseconds: 1_000)
        _ = try await a.importBlob(json(["farm": ["name": "F2", "capacity": 100]]).serialized())
        try await b.put("settings", ["darkMode": true])
        try await DirectSync.pull(from: a, into: b)
        await #expect(try b.get("farm") == ["name": "F2", "capacity": 100])
        await #expect(try b.get("farm", id: "lat").objectValue?["_deletedAt"] != .null)
        await #expect(try b.get("farm", id: "capacity").objectValue?["_updatedAt"] == "1970-01-01T00:00:00.000Z")
        await #expect(try b.exportBlob().count > 0)
    }

    @Test func auditLogEntriesUnionWithoutDuplicatesAndExportWithoutSynthesizedIDs() async throws {
        let a = try await lab.open("a")
        let b = try await lab.open("b")
        let entry: JSONValue = ["ts": "2026-03-01T09:12:44.101Z", "user": "Admin", "action": "create"]
        _ = try await a.importBlob(json(["auditLog": [entry]]).serialized())
        _ = try await b.importBlob(json(["auditLog": [entry, ["id": "own-id", "ts": "x"]]]).serialized())
        try await DirectSync.pull(from: a, into: b)
        try await DirectSync.pull(from: b, into: a)
        await #expect(try a.get("auditLog").arrayValue?.count == 2)
        await #expect(try b.get("auditLog").arrayValue?.count == 2)
        let exported = try await JSONParser().parse(a.exportBlob()).objectValue?["auditLog"]?.arrayValue ?? []
        #expect(exported.contains(entry))
        #expect(exported.contains(["id": "own-id", "ts": "x"]))
        await #expect(throws: ReplicaError.self) { try await a.delete("auditLog", id: "own-id") }
    }

    @Test func otherTopLevelValuesSurviveAndMergeAsAWhole() async throws {
        let a = try await lab.open("a")
        _ = try await a.importBlob(json(["_clientCodeSeq": 7, "kpiSnapshots": [["date": "d"]], "future": ["x": [1]]]).serialized())
        lab.clock.advance(milliseconds: 1_000)
        let report = try await a.importBlob(json(["_clientCodeSeq": 8, "kpiSnapshots": [["date": "d"]], "future": ["x": [1]]]).serialized())
        #expect(report.updated == 1 && report.unchanged == 2)
        await #expect(try a.get("_clientCodeSeq") == 8)
        await #expect(try exported(a) == ["_clientCodeSeq": 8, "kpiSnapshots": [["date": "d"]], "future": ["x": [1]]])
        let dropped = try await a.importBlob(json(["kpiSnapshots": [["date": "d"]], "future": ["x": [1]]]).serialized())
        #expect(dropped.deleted == 1)
        await #expect(try exported(a).objectValue?["_clientCodeSeq"] == nil)
    }

    @Test func collectionNamesAreNeverInterpolatedIntoSQL() async throws {
        let a = try await lab.open("a")
        let hostile = "x'); DROP TABLE record; --"
        let blob = JSONValue.object(JSONObject([(hostile, [["id": "1", "v": "'; DELETE FROM meta; --"]] as JSONValue)]))
        _ = try await a.importBlob(blob.serialized())
        await #expect(try exported(a).withoutSyncMetadata == blob)
        await #expect(try a.get(hostile).arrayValue?.count == 1)
        #expect(try ReplicaLab.query(a, "SELECT name FROM sqlite_master WHERE name = 'record'").count == 1)
    }

    @Test func anExportedArchiveReimportsWithoutChange() async throws {
        let a = try await lab.open("a")
        let c = try await lab.open("c")
        _ = try await a.importBlob(blob(flocks: [["id": "f1", "count": 1]]))
        try await DirectSync.pull(from: a, into: c)
        _ = try await c.importBlob(blob(flocks: [["id": "f1", "count": 5]]))
        let export = try await c.exportBlob()
        #expect(try JSONParser().parse(export).objectValue?["_conflictArchive"]?.arrayValue?.count == 1)
        let sequence = try await c.headSequence()
        let report = try await c.importBlob(export)
        #expect(report.conflicts == 0 && report.updated == 0 && report.added == 0)
        await #expect(try c.headSequence() == sequence)
        let before = try ReplicaLab.fingerprint(c)
        _ = try await c.importBlob(export)
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
