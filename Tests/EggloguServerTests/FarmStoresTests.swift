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

    /// Whether this process has any file of `farm`'s database open (the database, its WAL, its shm).
    func isOpen(_ stores: FarmStores, _ farm: String) -> Bool {
        let path = stores.directory.farmReplica(farm)
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.contains { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)).map { $0.hasPrefix(path) } ?? false
        }
    }

    @Test func idleStoresBeyondTheLimitAreClosedAndOpenAgainWithTheirData() async throws {
        let stores = try stores(limit: 3)
        for n in 0..<8 { try await write(stores, "farm-\(n)") }
        #expect(stores.openCount == 3)
        for n in 0..<5 {
            // They close in the background.
            let deadline = ContinuousClock.now + .seconds(10)
            while isOpen(stores, "farm-\(n)"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!isOpen(stores, "farm-\(n)"), "farm-\(n) was closed: none of its files is open")
        }
        for n in 5..<8 { #expect(isOpen(stores, "farm-\(n)"), "farm-\(n) is still open") }
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

    /// A closed farm keeps a small WAL (closing costs no fsync), and a large one is checkpointed
    /// into the database first; either way nothing written is lost.
    @Test func closingKeepsOnlyASmallWAL() async throws {
        let stores = try stores(limit: 1)
        let big = try await stores.replica("big")
        for n in 0..<200 { _ = try await big.put("flocks", ["id": .string("f\(n)"), "padding": .string(String(repeating: "x", count: 500))]) }
        _ = try await stores.replica("small").put("flocks", ["id": "one"])
        let wal = stores.directory.farmReplica("big") + "-wal"
        let walBefore = try #require(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int)
        #expect(walBefore > 64 << 10)
        _ = consume big
        try await write(stores, "third")
        let deadline = ContinuousClock.now + .seconds(10)
        while isOpen(stores, "big"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let walAfter = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
        #expect(walAfter <= 64 << 10, "checkpointed and truncated before closing: \(walAfter) bytes")
        #expect(try await stores.replica("big").get("flocks").arrayValue?.count == 200)
    }

    /// Requests that all ask for a new farm at the same moment share one opening of its store.
    @Test func requestsForANewFarmAtOnceShareOneStore() async throws {
        let stores = try stores(limit: 4)
        let replicas = try await withThrowingTaskGroup(of: Replica.self) { group in
            for _ in 0..<16 { group.addTask { try await stores.replica("fresh") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replicas.allSatisfy { $0 === replicas[0] })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<16 { group.addTask { _ = try await replicas[n].put("flocks", ["id": .string("f\(n)")]) } }
            try await group.waitForAll()
        }
        #expect(try await stores.replica("fresh").get("flocks").arrayValue?.count == 16)
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
