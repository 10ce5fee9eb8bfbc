import EggloguCore
import EggloguJSON
import EggloguTestTraits
import Testing

/// Merges `incoming` into `stored` as a replica does: ``MergeDecision`` picks the winner and
/// ``MergeDecision/archiveEntry(collection:stored:incoming:)`` builds the loser's archive entry.
func mergeRecord(collection: String, stored: RecordVersion?, incoming: RecordVersion) -> (winner: RecordVersion, archived: ConflictEntry?) {
    let decision = MergeDecision(stored: stored?.info, incoming: incoming.info)
    let winner = decision.outcome == .takeIncoming ? incoming : stored!
    return (winner, stored.flatMap { decision.archiveEntry(collection: collection, stored: $0, incoming: incoming) })
}

/// Hand-written histories for the merge rule; the property test in EggloguSyncTests covers random ones.
@Suite(.ownThreads) struct MergeTests {
    func t(_ ms: Int64) -> Timestamp { Timestamp(milliseconds: 1_750_000_000_000 + ms) }

    func content(_ count: Int) -> JSONObject {
        JSONObject([("id", "r1"), ("count", .number(JSONNumber(count)))])
    }

    var base: RecordVersion {
        RecordVersion(id: "r1", content: content(1), updatedAt: t(0), origin: "A", vector: VersionVector(["A": t(0)]))
    }

    @Test func sequentialEditsNeverConflictEvenWhenIntermediateVersionsAreMissed() {
        let v2 = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "B", stamp: t(10))
        let v3 = LocalWrite.put(id: "r1", content: content(3), base: v2.info, device: "C", stamp: t(20))
        let merged = mergeRecord(collection: "flocks", stored: base, incoming: v3)
        #expect(merged.winner == v3)
        #expect(merged.archived == nil)
        let late = mergeRecord(collection: "flocks", stored: v3, incoming: v2)
        #expect(late.winner == v3)
        #expect(late.archived == nil)
    }

    @Test func concurrentEditsConvergeAndArchiveTheLoserWhateverTheOrder() throws {
        let a = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "A", stamp: t(10))
        let b = LocalWrite.put(id: "r1", content: content(3), base: base.info, device: "B", stamp: t(11))
        let ab = mergeRecord(collection: "flocks", stored: a, incoming: b)
        let ba = mergeRecord(collection: "flocks", stored: b, incoming: a)
        #expect(ab.winner == b)
        #expect(ba.winner == b)
        let entry = try #require(ab.archived)
        #expect(entry == ba.archived)
        #expect(entry.kind == .concurrentEdit)
        #expect(entry.loser == a)
        #expect(entry.id == ConflictEntry.id(collection: "flocks", recordID: "r1", loser: a.info))
    }

    @Test func identicalConcurrentEditsAreNotAConflict() {
        let a = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "A", stamp: t(10))
        let b = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "B", stamp: t(11))
        #expect(mergeRecord(collection: "flocks", stored: a, incoming: b).archived == nil)
    }

    @Test func aDeletionBeatsAConcurrentLaterEditOnEveryReplica() throws {
        let deletion = LocalWrite.delete(base, device: "A", stamp: t(10))
        let edit = LocalWrite.put(id: "r1", content: content(9), base: base.info, device: "B", stamp: t(50))
        let one = mergeRecord(collection: "flocks", stored: deletion, incoming: edit)
        let two = mergeRecord(collection: "flocks", stored: edit, incoming: deletion)
        #expect(one.winner == deletion)
        #expect(two.winner == deletion)
        #expect(try #require(one.archived).kind == .deleteVsEdit)
        #expect(one.archived == two.archived)
    }

    @Test func theLayoutNeverArchives() {
        let a = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "A", stamp: t(10))
        let b = LocalWrite.put(id: "r1", content: content(3), base: base.info, device: "B", stamp: t(11))
        #expect(mergeRecord(collection: "flocks", stored: a, incoming: b).archived != nil)
        #expect(mergeRecord(collection: CollectionName.layout, stored: a, incoming: b).archived == nil)
    }

    @Test func twoDeletionsNeverConflict() {
        let a = LocalWrite.delete(base, device: "A", stamp: t(10))
        let edited = RecordVersion(id: "r1", content: content(7), updatedAt: t(11), origin: "B", vector: VersionVector(["B": t(11)]))
        let b = LocalWrite.delete(edited, device: "B", stamp: t(12))
        #expect(mergeRecord(collection: "flocks", stored: a, incoming: b).archived == nil)
    }

    @Test func aRestoreBeatsTheDeletionItUndoesAndAConcurrentEditArchivesTheDeletion() throws {
        let deletion = LocalWrite.delete(base, device: "A", stamp: t(10))
        let restore = LocalWrite.put(id: "r1", content: content(1), base: deletion.info, device: "B", stamp: t(20))
        #expect(restore.info.generation == 1)
        #expect(mergeRecord(collection: "flocks", stored: deletion, incoming: restore).winner == restore)
        #expect(mergeRecord(collection: "flocks", stored: deletion, incoming: restore).archived == nil)
        let concurrentDelete = LocalWrite.delete(base, device: "C", stamp: t(30))
        let merged = mergeRecord(collection: "flocks", stored: restore, incoming: concurrentDelete)
        #expect(merged.winner == restore)
        #expect(try #require(merged.archived).kind == .editVsDelete)
    }

    @Test func keepMineRepublishesTheLoserOverBothVectorsOneGenerationUp() throws {
        let deletion = LocalWrite.delete(base, device: "A", stamp: t(10))
        let edit = LocalWrite.put(id: "r1", content: content(9), base: base.info, device: "B", stamp: t(50))
        let entry = try #require(mergeRecord(collection: "flocks", stored: deletion, incoming: edit).archived)
        let kept = LocalWrite.keepMine(entry, device: "C", stamp: t(60))
        #expect(kept.content == edit.content)
        #expect(!kept.isDeleted)
        #expect(kept.info.generation == 1)
        #expect(kept.info.vector.includes(origin: "A", updatedAt: t(10)))
        #expect(kept.info.vector.includes(origin: "B", updatedAt: t(50)))
        let merged = mergeRecord(collection: "flocks", stored: deletion, incoming: kept)
        #expect(merged.winner == kept)
        #expect(merged.archived == nil)
        let again = LocalWrite.keepMine(
            ConflictEntry(collection: "flocks", winner: edit, loser: deletion),
            device: "C",
            stamp: t(61)
        )
        #expect(again.isDeleted)
    }

    @Test func archiveEntriesJoinToTheHighestWinnerAndStayResolved() throws {
        let loser = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "A", stamp: t(10))
        let w1 = LocalWrite.put(id: "r1", content: content(3), base: base.info, device: "B", stamp: t(11))
        let w2 = LocalWrite.put(id: "r1", content: content(4), base: w1.info, device: "C", stamp: t(12))
        let e1 = ConflictEntry(collection: "flocks", winner: w1, loser: loser)
        let e2 = ConflictEntry(collection: "flocks", winner: w2, loser: loser).resolved(.acceptTheirs, at: t(20), by: "C")
        #expect(e1.id == e2.id)
        #expect(e1.joined(with: e2) == e2.joined(with: e1))
        #expect(e1.joined(with: e2).winner == w2)
        #expect(e1.joined(with: e2).isResolved)
        #expect(try ConflictEntry(record: .object(e2.record)) == e2)
    }

    @Test func archiveEntryIDsMustMatchTheirLoser() throws {
        let loser = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "A", stamp: t(10))
        var record = ConflictEntry(collection: "flocks", winner: base, loser: loser).record
        record["id"] = "forged"
        #expect(throws: RecordError.self) { try ConflictEntry(record: .object(record)) }
    }

    @Test func wireRecordsRoundTripAndAreChecked() throws {
        let edit = LocalWrite.put(id: "r1", content: content(2), base: base.info, device: "A", stamp: t(10))
        #expect(try RecordVersion(record: .object(edit.record)) == edit)
        #expect(throws: RecordError.self) { try RecordVersion(record: [1]) }
        #expect(throws: RecordError.self) { try RecordVersion(record: ["id": "x", "_updatedAt": "soon"]) }
        #expect(throws: RecordError.self) { try RecordVersion(record: ["name": "x", "_updatedAt": "2024-01-01T00:00:00Z"]) }
        #expect(throws: RecordError.self) {
            try RecordVersion(record: ["id": "x", "_updatedAt": "2024-01-01T00:00:00Z", "_syncGen": -1])
        }
        #expect(throws: RecordError.self) {
            try RecordVersion(record: ["id": "x", "_updatedAt": "2024-01-01T00:00:00Z", "_syncVV": ["A": 5]])
        }
    }
}
