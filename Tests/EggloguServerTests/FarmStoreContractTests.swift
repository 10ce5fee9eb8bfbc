import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Synchronization
import Testing

/// What every farm store promises the sync server, run against SQLite and PostgreSQL alike.
@Suite(.ownThreads) struct FarmStoreContractTests {
    static let t0: Int64 = 1_780_000_000_000

    /// A version of `flocks/id` made on `device` at `ms`, on top of `base`.
    static func version(_ id: String, _ name: String, device: String, at ms: Int64, base: RecordVersion? = nil) -> RecordVersion {
        LocalWrite.put(
            id: id,
            content: ["id": .string(id), "name": .string(name)],
            base: base?.info,
            device: device,
            stamp: Timestamp(milliseconds: ms)
        )
    }

    static func batch(_ versions: [RecordVersion], in collection: String = "flocks") -> [(collection: String, records: [JSONValue])] {
        [(collection, versions.map { .object($0.record) })]
    }

    static func push(_ store: any FarmStore, _ versions: [RecordVersion], device: String, after seq: Int64 = 0) async throws -> MergedPush {
        let options = RemoteMergeOptions(defaultOrigin: device, rejectsFutureTimestamps: true, fromUpstream: false)
        return try await store.mergePush(batch(versions), options: options, after: seq, limit: 500)
    }

    /// Every change of the store, paged by `limit`, with the cursors seen.
    static func all(_ store: any FarmStore, limit: Int = 500) async throws -> (changes: [Change], cursors: [Int64]) {
        var changes: [Change] = []
        var cursors: [Int64] = []
        var cursor: Int64 = 0
        while true {
            let page = try await store.changes(after: cursor, limit: limit)
            changes += page.changes
            cursors.append(page.cursor)
            cursor = page.cursor
            if !page.hasMore { return (changes, cursors) }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func pushedChangesComeBackInPagesAfterTheCursor(_ backend: StoreBackend) async throws {
        try await BackendStores.with(backend) { stores in
            let store = try await stores.farm("farm-a")
            let pushed = try await Self.push(
                store,
                (0..<5).map { Self.version("f\($0)", "n\($0)", device: "a", at: Self.t0 + Int64($0)) },
                device: "a"
            )
            #expect(pushed.report.accepted == 5)
            #expect(pushed.report.changed == 5)
            #expect(pushed.page.changes.isEmpty, "the pusher's own versions are not echoed back")
            #expect(pushed.head == 5)
            #expect(try await store.headSequence() == 5)
            let (changes, cursors) = try await Self.all(store, limit: 2)
            #expect(changes.map(\.id) == ["f0", "f1", "f2", "f3", "f4"])
            #expect(changes.map(\.seq) == [1, 2, 3, 4, 5])
            #expect(cursors == [2, 4, 5])
            let other = try await Self.push(store, [Self.version("g", "g", device: "b", at: Self.t0 + 10)], device: "b", after: 2)
            #expect(other.page.changes.map(\.id) == ["f2", "f3", "f4"], "the device gets what it has not seen, without its own")
            #expect(other.page.cursor == 6)
            await #expect(throws: ReplicaError.self) { try await store.changes(after: 99, limit: 10) }
            await #expect(throws: ReplicaError.self) { try await Self.push(store, [], device: "b", after: 99) }
        }
    }

    /// A push that holds a conflict entry and then a version whose merge files into that same entry
    /// gets the joined entry back: it is no echo of what the device sent. The PostgreSQL soak once
    /// ended with one device keeping an older copy of such an entry for good.
    @Test(arguments: StoreBackend.allCases)
    func anEntryALaterRecordOfThePushChangedGoesBackToThePusher(_ backend: StoreBackend) async throws {
        try await BackendStores.with(backend) { stores in
            let store = try await stores.farm("farm-j")
            let base = Self.version("x", "base", device: "a", at: Self.t0)
            _ = try await Self.push(store, [base], device: "a")
            let theirs = Self.version("x", "by-c", device: "c", at: Self.t0 + 10, base: base)
            _ = try await Self.push(store, [theirs], device: "c", after: 1)
            // b edited x without seeing c's edit, archived c's against it when it pulled, and edited again.
            let first = Self.version("x", "by-b", device: "b", at: Self.t0 + 20, base: base)
            let entry = ConflictEntry(collection: "flocks", winner: first, loser: theirs)
            let second = Self.version("x", "by-b-again", device: "b", at: Self.t0 + 30, base: first)
            let options = RemoteMergeOptions(defaultOrigin: "b", rejectsFutureTimestamps: true, fromUpstream: false)
            let pushed = try await store.mergePush(
                [(CollectionName.conflictArchive, [.object(entry.record)]), ("flocks", [.object(second.record)])],
                options: options,
                after: 2,
                limit: 500
            )
            let archived = pushed.page.changes.filter { $0.collection == CollectionName.conflictArchive }
            #expect(archived.count == 1 && archived.first?.body.contains("by-b-again") == true, "\(pushed.page.changes)")
            #expect(!pushed.page.changes.contains { $0.collection == "flocks" }, "b's own version is an echo")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aLosingPushGetsTheWinnerBackAndConcurrentEditsAreArchived(_ backend: StoreBackend) async throws {
        try await BackendStores.with(backend) { stores in
            let store = try await stores.farm("farm-c")
            let base = Self.version("x", "base", device: "a", at: Self.t0)
            _ = try await Self.push(store, [base], device: "a")
            let mine = Self.version("x", "by-a", device: "a", at: Self.t0 + 20, base: base)
            let theirs = Self.version("x", "by-b", device: "b", at: Self.t0 + 10, base: base)
            let first = try await Self.push(store, [mine], device: "a", after: 1)
            #expect(first.report.conflicts == 0)
            let lost = try await Self.push(store, [theirs], device: "b", after: 1)
            #expect(lost.report.superseded == [RecordRef(collection: "flocks", id: "x")])
            #expect(lost.report.conflicts == 1, "b's concurrent edit is archived")
            let returned = lost.page.changes.filter { $0.collection == "flocks" }
            #expect(returned.count == 1 && returned[0].body.contains("by-a"), "the device gets the stored winner back")
            #expect(lost.page.changes.contains { $0.collection == CollectionName.conflictArchive })
            let again = try await Self.push(store, [theirs], device: "b", after: lost.head)
            #expect(again.report.conflicts == 0 && again.report.changed == 0, "the same loser again files nothing new")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func badRecordsAreRefusedAloneAndFutureStampsToo(_ backend: StoreBackend) async throws {
        let now = Self.t0
        try await BackendStores.with(backend, wallClock: { Timestamp(milliseconds: now) }) { stores in
            let store = try await stores.farm("farm-b")
            let good = Self.version("ok", "ok", device: "a", at: now)
            let future = Self.version("late", "late", device: "a", at: now + 3_600_000)
            var nul = Self.version("nul", "n", device: "a", at: now).record
            nul[SyncField.origin] = .string("a\u{0}b")
            let records: [JSONValue] = [
                .object(good.record), .object(future.record), .string("not a record"), .object(["id": "no-stamp"]), .object(nul),
            ]
            let options = RemoteMergeOptions(defaultOrigin: "a", rejectsFutureTimestamps: true, fromUpstream: false)
            let merged = try await store.mergePush(
                [("flocks", records), ("bad name!", [.object(good.record)])],
                options: options,
                after: 0,
                limit: 10
            )
            #expect(merged.report.accepted == 1)
            #expect(Set(merged.report.rejected.map(\.reason)) == [.timestampInFuture, .notObject, .badTimestamp, .badCollection, .badMetadata])
            #expect(try await Self.all(store).changes.map(\.id) == ["ok"])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func purgedTombstonesSendOldCursorsToAFullResync(_ backend: StoreBackend) async throws {
        let clock = Shared(Self.t0)
        try await BackendStores.with(backend, wallClock: { Timestamp(milliseconds: clock.value.load(ordering: .relaxed)) }) { stores in
            let store = try await stores.farm("farm-p")
            let kept = Self.version("kept", "k", device: "a", at: Self.t0)
            let doomed = Self.version("doomed", "d", device: "a", at: Self.t0)
            _ = try await Self.push(store, [kept, doomed], device: "a")
            _ = try await Self.push(
                store,
                [LocalWrite.delete(doomed, device: "a", stamp: Timestamp(milliseconds: Self.t0 + 1))],
                device: "a",
                after: 2
            )
            clock.value.store(Self.t0 + 86_400_000, ordering: .relaxed)
            let since = try await store.sequence(receivedBefore: Timestamp(milliseconds: Self.t0 + 1_000))
            #expect(since == 3, "nothing arrived after that time: the head")
            let before = try await store.headSequence()
            let report = try await store.purge(receivedBefore: Timestamp(milliseconds: Self.t0 + 1_000))
            #expect(report.tombstones == 1)
            #expect(report.purgedThrough == 3)
            #expect(try await store.lastPurge() == Timestamp(milliseconds: Self.t0 + 86_400_000))
            #expect(try await store.headSequence() == before, "the head does not go back when rows go")
            await #expect(throws: ReplicaError.self) { try await store.changes(after: 1, limit: 10) }
            await #expect(throws: ReplicaError.self) { try await Self.push(store, [], device: "a", after: 2) }
            #expect(try await Self.all(store).changes.map(\.id) == ["kept"], "a device starting from nothing is served")
            let next = try await Self.push(store, [Self.version("new", "n", device: "a", at: Self.t0 + 86_400_000)], device: "a", after: 3)
            #expect(next.head == 4, "the sequence goes on past the purged rows")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func theDeviceDirectoryRegistersTouchesAndRevokesPerFarm(_ backend: StoreBackend) async throws {
        try await BackendStores.with(backend) { stores in
            let devices = stores.devices
            #expect(await devices.isReadable())
            try await devices.register(device: "gw1", farms: ["f1", "f2"])
            try await devices.touch(farm: "f1", device: "gw1", at: Date(timeIntervalSince1970: 1_000))
            let issued = Date(timeIntervalSince1970: 2_000)
            #expect(try await devices.isRevoked(farm: "f1", device: "gw1", issuedAt: issued) == false)
            try await devices.revoke(farm: "f1", device: "gw1", at: Date(timeIntervalSince1970: 3_000))
            #expect(try await devices.isRevoked(farm: "f1", device: "gw1", issuedAt: issued))
            #expect(try await devices.isRevoked(farm: "f2", device: "gw1", issuedAt: issued) == false, "only that farm")
            #expect(try await devices.isRevoked(farm: "f1", device: "gw1", issuedAt: Date(timeIntervalSince1970: 4_000)) == false)
            let listed = try await devices.devices(farm: "f1")
            #expect(listed.map(\.device) == ["gw1"])
            #expect(listed.first?.lastSeen == Date(timeIntervalSince1970: 1_000))
            #expect(listed.first?.revokedAt == Date(timeIntervalSince1970: 3_000))
        }
    }

    /// Both backends store the same bodies, sequence numbers and archive for the same pushes.
    @Test func bothBackendsAgreeOnEveryStoredChange() async throws {
        var results: [[String]] = []
        for backend in StoreBackend.allCases {
            results.append(
                try await BackendStores.with(backend) { stores in
                    let store = try await stores.farm("farm-same")
                    let base = Self.version("x", "base", device: "a", at: Self.t0)
                    _ = try await Self.push(store, [base, Self.version("y", "y", device: "a", at: Self.t0)], device: "a")
                    _ = try await Self.push(store, [Self.version("x", "b", device: "b", at: Self.t0 + 5, base: base)], device: "b", after: 2)
                    _ = try await Self.push(store, [Self.version("x", "c", device: "c", at: Self.t0 + 7, base: base)], device: "c", after: 2)
                    _ = try await Self.push(
                        store,
                        [LocalWrite.delete(base, device: "a", stamp: Timestamp(milliseconds: Self.t0 + 6))],
                        device: "a",
                        after: 2
                    )
                    return try await Self.all(store).changes.map { "\($0.seq) \($0.collection)/\($0.id) \($0.body)" }
                }
            )
        }
        #expect(results[0].count >= 4)
        #expect(results[0] == results[1])
    }

    /// Cursor safety: writers commit concurrently while a reader follows the feed from its
    /// cursor. Every version the reader ends with must be the stored one, and no page may hold a
    /// sequence number at or below one it already passed.
    @Test(arguments: StoreBackend.allCases)
    func aReaderFollowingConcurrentWritersSkipsNothing(_ backend: StoreBackend) async throws {
        try await BackendStores.with(backend) { stores in
            let store = try await stores.farm("farm-race")
            let writers = 8
            let pushes = 25
            let done = Shared<Int>(0)
            async let reader: (seen: [String: String], ordered: Bool) = {
                var seen: [String: String] = [:]
                var cursor: Int64 = 0
                var ordered = true
                var quiet = 0
                while quiet < 2 {
                    let finished = done.value.load(ordering: .acquiring) == writers
                    let page = try await store.changes(after: cursor, limit: 7)
                    for change in page.changes {
                        if change.seq <= cursor { ordered = false }
                        seen["\(change.collection)/\(change.id)"] = change.body
                    }
                    if page.cursor < cursor { ordered = false }
                    cursor = page.cursor
                    if !page.hasMore {
                        // Caught up after every writer finished: twice, to be sure.
                        if finished { quiet += 1 }
                        await Task.yield()
                    }
                }
                return (seen, ordered)
            }()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        for p in 0..<pushes {
                            let at = Self.t0 + Int64(p * writers + w)
                            let versions =
                                (0..<3).map { Self.version("w\(w)-\(p)-\($0)", "v", device: "d\(w)", at: at) }
                                + [Self.version("shared-\(p % 5)", "by-\(w)", device: "d\(w)", at: at)]
                            _ = try await Self.push(store, versions, device: "d\(w)")
                        }
                        done.value.add(1, ordering: .releasing)
                    }
                }
                try await group.waitForAll()
            }
            let followed = try await reader
            let truth = try await Self.all(store).changes
            #expect(truth.count >= writers * pushes * 3)
            #expect(followed.ordered, "the cursor never went back and no change came twice out of order")
            let skipped = truth.filter { followed.seen["\($0.collection)/\($0.id)"] != $0.body }
            #expect(skipped.count == 0, "the reader missed \(skipped.count) changes, e.g. seq \(skipped.prefix(5).map(\.seq))")
        }
    }
}

/// An atomic value closures and tasks can share.
private final class Shared<Value: AtomicRepresentable>: Sendable where Value: Sendable {
    let value: Atomic<Value>
    init(_ initial: Value) { value = Atomic(initial) }
}
