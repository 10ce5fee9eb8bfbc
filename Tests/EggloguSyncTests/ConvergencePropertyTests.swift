import EggloguTestSupport
import EggloguTestTraits
import Foundation
import PropertyBased
import Synchronization
import Testing

/// Random multi-device histories through the real push and pull: three devices and a server,
/// edits, deletes, restores and resolutions with values that collide across devices, syncs that
/// lose requests, answers, or deliver twice. A failure prints the shrunk history, one operation
/// per step (`dev1 put flocks/r0 = 2`, `dev0 sync, answer 1 lost`). Between syncs, devices hear
/// the server's notices, lost, repeated or out of order, and apply the changes they carry when
/// they continue their cursor.
@Suite(.ownThreads) struct ConvergencePropertyTests {
    /// Histories per run: 60 by default; a long run with `EGGLOGU_PROPERTY_RUNS=2000 swift test --filter Convergence`.
    static let runs = ProcessInfo.processInfo.environment["EGGLOGU_PROPERTY_RUNS"].flatMap(Int.init) ?? 60

    @Test func randomHistoriesConvergeWithoutLosingAVersion() async {
        let applied = Atomic(0)
        await propertyCheck(count: Self.runs, input: Histories.operation.array(of: 5...40).map(History.init)) { history in
            applied.add(try await SyncWorld.check(history.operations), ordering: .relaxed)
        }
        #expect(applied.load(ordering: .relaxed) > 0, "some histories apply notices' changes without a pull")
    }

    /// The same histories with the server on PostgreSQL (a third as many: each gets a database).
    @Test func randomHistoriesConvergeOnPostgres() async {
        await propertyCheck(count: max(10, Self.runs / 3), input: Histories.operation.array(of: 5...40).map(History.init)) { history in
            try await SyncWorld.check(history.operations, backend: .postgres)
        }
    }

    /// Histories that once failed, kept as fixed cases.
    @Test(arguments: [
        // Two devices delete a field concurrently, then one restores it.
        [
            SyncOperation.put(device: 0, key: RecordKey(collection: "farm", id: "name"), value: 1), .sync(device: 0, fault: .none),
            .sync(device: 1, fault: .none), .delete(device: 0, key: RecordKey(collection: "farm", id: "name")),
            .delete(device: 1, key: RecordKey(collection: "farm", id: "name")), .sync(device: 0, fault: .none),
            .restore(device: 1, key: RecordKey(collection: "farm", id: "name")), .sync(device: 1, fault: .answerLost(request: 0)),
        ],
        // The same value written by two devices that never saw each other: equal content, no conflict.
        [
            .put(device: 0, key: RecordKey(collection: "flocks", id: "r0"), value: 2),
            .put(device: 1, key: RecordKey(collection: "flocks", id: "r0"), value: 2), .sync(device: 1, fault: .duplicated(request: 0)),
            .sync(device: 0, fault: .unreachable(request: 1)),
        ],
    ])
    func historiesThatOnceFailed(history: [SyncOperation]) async throws {
        try await SyncWorld.check(history)
    }

    /// A device that syncs before every write, after everyone else synced, never files a conflict,
    /// even with two writes to one record in one push.
    @Test func sequentialHistoriesNeverConflict() async {
        let step = zip(Histories.device, Histories.key, Histories.value, Gen.bool)
        await propertyCheck(count: max(20, Self.runs / 3), input: step.array(of: 1...12)) { steps in
            let world = try await SyncWorld()
            for (device, key, value, twice) in steps {
                try await world.perform(.put(device: device, key: key, value: value))
                if twice {
                    world.clocks[device].advance(milliseconds: 1)
                    try await world.perform(.put(device: device, key: key, value: (value + 1) % 3))
                }
                try await world.settle()
                for replica in world.devices.map(\.replica) {
                    #expect(try await replica.conflicts(includeResolved: true).isEmpty)
                }
            }
        }
    }
}
