import EggloguCore
import EggloguJSON
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct BlobDecoderTests {
    func decode(_ text: String, known: [String: ShapeKind] = [:], settled: Set<String> = []) throws -> DecodedBlob {
        try BlobDecoder(known: known, settledCollections: settled).decode(JSONParser().parse(text))
    }

    func kinds(_ blob: DecodedBlob) -> [String: ShapeKind] {
        Dictionary(blob.shapes.map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func findsCollectionsFromTheShape() throws {
        let blob = try decode(
            #"""
            {"farm":{"name":"F"},"flocks":[{"id":"a"}],"reservations":[],"feed":{"purchases":[{"id":"p"}],"consumption":[]},
             "kpiSnapshots":[{"date":"2026-01-01"}],"_clientCodeSeq":7,"newThing":[{"id":"n1"}],"auditLog":[{"ts":"x"}],
             "settings":{"a":1},"mixedObject":{"list":[{"id":"q"}],"flag":true}}
            """#
        )
        #expect(
            kinds(blob) == [
                "farm": .singleton, "flocks": .collection, "reservations": .collection, "feed": .nested,
                "feed.purchases": .collection, "feed.consumption": .collection, "kpiSnapshots": .value,
                "_clientCodeSeq": .value, "newThing": .collection, "auditLog": .auditLog, "settings": .singleton,
                "mixedObject": .value,
            ]
        )
        let values = blob.groups.first { $0.collection == CollectionName.values }!.records.map { $0["id"]! }
        #expect(values == ["kpiSnapshots", "_clientCodeSeq", "mixedObject"])
        #expect(blob.groups.first { $0.collection == "farm" }!.records == [FieldRecord.make(name: "name", value: "F")])
    }

    @Test func auditEntriesGetContentHashIDsAndDuplicatesCollapse() throws {
        let blob = try decode(#"{"auditLog":[{"ts":"1","a":1},{"a":1,"ts":"1"},{"ts":"2"}]}"#)
        let entries = blob.groups.first { $0.collection == "auditLog" }!.records
        #expect(entries.count == 2)
        #expect(AuditEntry.exported(entries[0]) == ["ts": "1", "a": 1])
        #expect(entries[0]["id"]?.stringValue == AuditEntry.syntheticID(of: ["a": 1, "ts": "1"]))
    }

    @Test func knownKindsStickAndEmptyCollectionsMayTurnIntoValues() throws {
        #expect(kinds(try decode(#"{"kpiSnapshots":[{"id":"x"}]}"#, known: ["kpiSnapshots": .value]))["kpiSnapshots"] == .value)
        #expect(kinds(try decode(#"{"kpi":[{"date":"x"}]}"#, known: ["kpi": .collection]))["kpi"] == .value)
    }

    @Test(arguments: [
        (#"[1,2]"#, "$"),
        (#"{"flocks":[{"id":"a"},{"name":"b"}]}"#, "$.flocks[1]"),
        (#"{"flocks":[{"id":"a"},7]}"#, "$.flocks[1]"),
        (#"{"flocks":[{"id":"a"},{"id":5.5}]}"#, "$.flocks[1]"),
        (#"{"flocks":[{"id":"a"},{"id":"k\u0000x"}]}"#, "$.flocks[1]"),
        (#"{"flocks":[{"id":"a","_updatedAt":"tuesday"}]}"#, "$.flocks[0]"),
        (#"{"flocks":[{"id":"a","x":1},{"id":"a","x":2}]}"#, "$.flocks[1]"),
        (#"{"feed":{"purchases":[{"id":"a"},"oops"]}}"#, "$.feed.purchases[1]"),
        (#"{"_syncThing":1}"#, "$._syncThing"),
        (#"{"farm":[1]}"#, "$.farm"),
        (#"{"auditLog":[1]}"#, "$.auditLog[0]"),
    ])
    func rejectsWithThePathOfTheProblem(text: String, path: String) {
        #expect {
            _ = try decode(text)
        } throws: { error in
            (error as? BlobError)?.path == path
        }
    }

    @Test func integerIdsAreIdsSoOlderDataStaysACollection() throws {
        let blob = try decode(#"{"flocks":[{"id":5,"name":"a"},{"id":6}],"clients":[{"id":"c"},{"id":7}]}"#)
        #expect(kinds(blob)["flocks"] == .collection)
        #expect(blob.groups.first { $0.collection == "flocks" }?.records.count == 2)
        #expect(blob.groups.first { $0.collection == "clients" }?.records.count == 2)
    }

    @Test func aSettledCollectionCannotLoseItsIDsOrShape() {
        #expect(throws: BlobError.self) { try decode(#"{"flocks":[{"name":"x"}]}"#, known: ["flocks": .collection], settled: ["flocks"]) }
        #expect(throws: BlobError.self) { try decode(#"{"flocks":{"a":1}}"#, known: ["flocks": .collection], settled: ["flocks"]) }
        #expect(throws: BlobError.self) { try decode(#"{"flocks":null}"#, known: ["flocks": .collection], settled: ["flocks"]) }
    }

    @Test func absenceIsJudgedOnlyInsideContainersTheBlobHas() throws {
        let blob = try decode(#"{"flocks":[],"farm":{},"feed":{"purchases":[]},"v":1}"#)
        #expect(blob.judgesAbsence(collection: "flocks", id: "x"))
        #expect(!blob.judgesAbsence(collection: "clients", id: "x"))
        #expect(blob.judgesAbsence(collection: "farm", id: "name"))
        #expect(!blob.judgesAbsence(collection: "settings", id: "name"))
        #expect(blob.judgesAbsence(collection: CollectionName.values, id: "gone"))
        #expect(blob.judgesAbsence(collection: CollectionName.values, id: "feed.extra"))
        #expect(!blob.judgesAbsence(collection: CollectionName.values, id: "welfare.extra"))
        #expect(!blob.judgesAbsence(collection: "auditLog", id: "x"))
    }

    @Test func collectionNamesAreCheckedAndReservedNamesRefused() {
        #expect(CollectionName.kind(of: "flocks") == .records)
        #expect(CollectionName.kind(of: "feed.purchases") == .nestedRecords(parent: "feed", child: "purchases"))
        #expect(CollectionName.kind(of: "farm") == .singleton)
        #expect(CollectionName.kind(of: "a.b.c") == nil)
        #expect(CollectionName.kind(of: "_syncX") == nil)
        #expect(CollectionName.kind(of: "farm.x") == nil)
        #expect(CollectionName.kind(of: "") == nil)
        #expect(CollectionName.kind(of: "tab\tname") == nil)
        #expect(CollectionName.kind(of: String(repeating: "x", count: 65)) == nil)
        #expect(CollectionName.kind(of: String(repeating: "x", count: 64)) == .records)
        #expect(CollectionName.kind(of: "x'); DROP TABLE record; --") == nil)
        #expect(CollectionName.kind(of: "<b>x</b>") == nil)
        #expect(CollectionName.kind(of: "__proto__") == nil)
        #expect(CollectionName.kind(of: "constructor.__proto__") == nil)
        #expect(CollectionName.kind(of: "flöcks") == nil)
        #expect(CollectionName.kind(of: "1flocks") == nil)
        #expect(CollectionName.kind(of: "biosecurity.pestSightings") == .nestedRecords(parent: "biosecurity", child: "pestSightings"))
        #expect(CollectionName.kind(of: "kpi_2024") == .records)
    }
}
