import EggloguJSON
import EggloguStore
import EggloguTestSupport
import Foundation
import Testing

@testable import EggloguServer

/// The server's farm stores stay within their limit of open databases, close the idle ones for
/// real, and never close (or duplicate) one that a request holds.
@Suite struct FarmStoresTests {
    let scratch = TemporaryDirectory()

    func stores(limit: Int) throws -> FarmStores {
        FarmStores(directory: try DataDirectory(scratch.file("data"), create: true), maxClockSkewMilliseconds: 300_000, limit: limit)
    }

    func write(_ stores: FarmStores, _ farm: String) async throws {
        _ = try await stores.replica(farm).put("flocks", ["id": .string("f-\(farm)"), "name": .string(farm)])
    }

    func walExists(_ stores: FarmStores, _ farm: String) -> Bool {
        FileManager.default.fileExists(atPath: stores.directory.farmReplica(farm) + "-wal")
    }

    @Test func idleStoresBeyondTheLimitAreClosedAndOpenAgainWithTheirData() async throws {
        let stores = try stores(limit: 3)
        for n in 0..<8 { try await write(stores, "farm-\(n)") }
        #expect(stores.openCount == 3)
        for n in 0..<5 {
            // They close in the background; SQLite removes the WAL of a closed database.
            let deadline = ContinuousClock.now + .seconds(10)
            while walExists(stores, "farm-\(n)"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!walExists(stores, "farm-\(n)"), "farm-\(n) was closed")
        }
        for n in 5..<8 { #expect(walExists(stores, "farm-\(n)"), "farm-\(n) is still open") }
        for n in 0..<8 {
            let flocks = try await stores.replica("farm-\(n)").get("flocks")
            #expect(flocks.arrayValue?.first?.objectValue?["name"] == .string("farm-\(n)"))
        }
        #expect(stores.openCount == 3)
    }

    @Test func aStoreARequestHoldsIsNeverClosedNorOpenedTwice() async throws {
        let stores = try stores(limit: 2)
        let held = try await stores.replica("held")
        for n in 0..<6 { try await write(stores, "other-\(n)") }
        #expect(stores.openCount == 2, "the held store stays beside the most recent")
        _ = try await held.put("flocks", ["id": "still-open"])
        #expect(try await stores.replica("held") === held)
        for n in 6..<8 { try await write(stores, "other-\(n)") }
        #expect(stores.openCount == 2)
        #expect(try await held.get("flocks", id: "still-open").objectValue != nil)
    }

    @Test func manyFarmsOpenedAtOnceEndWithinTheLimit() async throws {
        let stores = try stores(limit: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<40 { group.addTask { try await write(stores, "busy-\(n % 20)") } }
            try await group.waitForAll()
        }
        try await write(stores, "last")
        #expect(stores.openCount <= 4)
        for n in 0..<20 { #expect(try await stores.replica("busy-\(n)").get("flocks").arrayValue?.count == 1) }
    }
}
