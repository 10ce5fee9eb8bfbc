import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// A client of the app's sync endpoint, reduced to what the store sees: it keeps what answers gave
/// it (merged field by field, as `Object.assign` does) and sends records back with that metadata.
struct Browser {
    let server: Replica
    let user: String
    var since: LegacySince = .never
    var records: [String: [String: JSONObject]] = [:]
    var farm = JSONObject()

    init(_ server: Replica, user: String) {
        self.server = server
        self.user = user
    }

    func record(_ collection: String, _ id: String) -> JSONObject {
        records[collection]![id]!
    }

    /// Pushes `groups` (and the farm object, if given), which the client holds from now on, and merges the answer.
    @discardableResult
    mutating func sync(_ groups: [String: [JSONObject]] = [:], farm pushedFarm: JSONObject? = nil) async throws -> LegacyPushResult {
        for (collection, pushed) in groups {
            for record in pushed {
                if let id = try? RecordVersion.recordID(of: record) { records[collection, default: [:]][id] = record }
            }
        }
        if let pushedFarm { farm = pushedFarm }
        let push = LegacyPush(
            groups: groups.sorted { $0.key < $1.key }.map { .init(label: $0.key, collection: $0.key, records: $0.value.map(JSONValue.object)) },
            farm: pushedFarm.map { [.object($0)] } ?? [],
            since: since,
            author: .browser(prefix: "web:\(user)/")
        )
        let result = try await server.legacyPush(push)
        var answer: [(String, JSONObject)] = []
        let farmFields = try await server.legacyFarm(for: result)
        for change in try await server.legacyChanges(for: result, collections: ["flocks", "clients"]) {
            var record = try JSONParser().parse(change.body).objectValue!
            record[SyncField.contentHash] = .string(change.hash)
            answer.append((change.collection, record))
        }
        for (collection, record) in answer {
            let id = try RecordVersion.recordID(of: record)
            var merged = records[collection]?[id] ?? JSONObject()
            for (key, value) in record { merged[key] = value }
            records[collection, default: [:]][id] = merged
        }
        if let farmFields { for (key, value) in farmFields { farm[key] = value } }
        since = .client(text: result.token, time: Timestamp(iso8601: result.token)!)
        return result
    }
}

@Suite(.ownThreads) struct LegacyPushTests {
    let lab = ReplicaLab()

    /// A server holding flocks f1, f2 and a farm, synced by an agent, and a browser that has logged in.
    func setUp() async throws -> (server: Replica, agent: Replica, browser: Browser) {
        let server = try await lab.open("server", role: .server)
        let agent = try await lab.open("agent")
        try await agent.put("flocks", ["id": "f1", "name": "Lote 1", "count": 100])
        try await agent.put("flocks", ["id": "f2", "name": "Lote 2", "count": 200])
        try await agent.put("farm", ["name": "Granja", "capacity": 5000])
        try await DirectSync.push(from: agent, to: server)
        var browser = Browser(server, user: "u1")
        try await browser.sync()
        lab.clock.advance(milliseconds: 1_000)
        return (server, agent, browser)
    }

    func edited(_ record: JSONObject, _ changes: [(String, JSONValue)]) -> JSONObject {
        var copy = record
        for (key, value) in changes { copy[key] = value }
        return copy
    }

    @Test func aLoginGetsEverythingAndItsEchoChangesNothing() async throws {
        var (server, _, browser) = try await setUp()
        #expect(browser.records["flocks"]?.count == 2)
        #expect(browser.farm == ["name": "Granja", "capacity": 5000], "one farm-shaped object without metadata")
        #expect(browser.record("flocks", "f1")[SyncField.contentHash] != nil)
        let head = try await server.headSequence()
        let echo = try await browser.sync(["flocks": Array(browser.records["flocks"]!.values)], farm: browser.farm)
        #expect(echo.synced == 0 && echo.issues.isEmpty)
        await #expect(try server.headSequence() == head)
    }

    @Test func anEditOfTheStoredVersionIsSequential() async throws {
        var (server, _, browser) = try await setUp()
        let result = try await browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 99)])]])
        #expect(result.synced == 1 && result.issues.isEmpty)
        await #expect(try server.get("flocks", id: "f1").objectValue?["count"] == 99)
        await #expect(try server.conflicts().isEmpty)
    }

    @Test func aSecondEditOfItsOwnPushIsSequentialThoughItsMetadataNamesTheOldBase() async throws {
        var (server, _, browser) = try await setUp()
        let before = browser.record("flocks", "f1")[SyncField.updatedAt]
        try await browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 99)])]])
        #expect(browser.record("flocks", "f1")[SyncField.updatedAt] == before, "its own push is not sent back")
        let second = try await browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 98)])]])
        #expect(second.synced == 1 && second.issues.isEmpty)
        await #expect(try server.get("flocks", id: "f1").objectValue?["count"] == 98)
        await #expect(try server.conflicts().isEmpty)
    }

    @Test func aConcurrentEditOfTwoBrowsersOfOneUserIsArchivedAndCounted() async throws {
        var (server, _, x) = try await setUp()
        var y = Browser(server, user: "u1")
        try await y.sync()
        try await x.sync(["flocks": [edited(x.record("flocks", "f1"), [("name", "Renamed by X")])]])
        lab.clock.advance(milliseconds: 10)
        let result = try await y.sync(["flocks": [edited(y.record("flocks", "f1"), [("count", 42)])]])
        #expect(result.conflicts == 1)
        #expect(result.issues.map(\.id) == ["f1"])
        #expect(result.issues.first?.kind == .conflict(.concurrentEdit))
        let live = try await server.get("flocks", id: "f1").objectValue!
        let archived = try await server.conflicts()
        #expect(archived.count == 1)
        let versions = [live, archived[0].loser.content].map { ($0["name"], $0["count"]) }
        #expect(versions.contains { $0.0 == "Renamed by X" } && versions.contains { $0.1 == 42 }, "neither edit vanished")
    }

    @Test func anUnchangedStaleCopyChangesNothingAndGetsTheStoredVersionBack() async throws {
        var (server, agent, browser) = try await setUp()
        let stale = browser.record("flocks", "f1")
        try await agent.put("flocks", ["id": "f1", "name": "Lote 1", "count": 150])
        try await DirectSync.push(from: agent, to: server)
        let head = try await server.headSequence()
        browser.since = .never
        let result = try await browser.sync(["flocks": [stale]])
        #expect(result.synced == 0 && result.issues.isEmpty)
        await #expect(try server.headSequence() == head)
        #expect(browser.record("flocks", "f1")["count"] == 150)
    }

    @Test func aRecordWithoutKnownAncestryLeavesTheStoredOneAndIsArchived() async throws {
        let (server, _, _) = try await setUp()
        var fresh = Browser(server, user: "u2")
        let result = try await fresh.sync(["flocks": [["id": "f2", "name": "Lote 2", "count": 1]]])
        #expect(result.synced == 0)
        #expect(result.issues.first?.kind == .conflict(.concurrentEdit))
        await #expect(try server.get("flocks", id: "f2").objectValue?["count"] == 200)
        await #expect(try server.conflicts().first?.loser.content["count"] == 1)
        #expect(fresh.record("flocks", "f2")["count"] == 200, "the stored version comes back")
    }

    @Test func aRecordDeletedElsewhereIsNeverResurrected() async throws {
        var (server, agent, browser) = try await setUp()
        try await agent.delete("flocks", id: "f2")
        try await DirectSync.push(from: agent, to: server)
        let echo = try await browser.sync(["flocks": [browser.record("flocks", "f2")]])
        #expect(echo.synced == 0 && echo.issues.isEmpty)
        await #expect(try server.get("flocks", id: "f2").objectValue?["_deletedAt"] != .null)
        let edit = try await browser.sync(["flocks": [edited(browser.record("flocks", "f2"), [("count", 7)])]])
        #expect(edit.issues.first?.kind == .conflict(.deleteVsEdit))
        await #expect(try server.get("flocks", id: "f2").objectValue?["_deletedAt"] != .null)
        await #expect(try server.conflicts().first?.loser.content["count"] == 7)
        await #expect(try server.get("flocks").arrayValue?.count == 1)
    }

    @Test func theAnswerLeavesOutDeletionsAndTheClientsOwnPush() async throws {
        var (server, agent, browser) = try await setUp()
        try await agent.delete("flocks", id: "f2")
        try await agent.put("clients", ["id": "c1", "name": "Feria"])
        try await DirectSync.push(from: agent, to: server)
        let result = try await browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 1)])]])
        var sent: [String] = []
        for change in try await server.legacyChanges(for: result, collections: ["flocks", "clients"]) {
            sent.append(change.collection + "/" + (try JSONParser().parse(change.body).objectValue!["id"]!.stringValue!))
        }
        #expect(sent == ["clients/c1"])
        var paged: [String] = []
        for collection in ["clients", "flocks"] {
            var after: String?
            repeat {
                let page = try await server.legacyPage(of: collection, for: result, after: after, limit: 1)
                for change in page.records {
                    paged.append(change.collection + "/" + (try JSONParser().parse(change.body).objectValue!["id"]!.stringValue!))
                }
                after = page.next
            } while after != nil
        }
        #expect(paged == sent, "pages hold what the single read holds")
    }

    @Test func theFarmIsAppliedPerFieldWithoutJunkAndStaleFieldsStay() async throws {
        var (server, _, x) = try await setUp()
        var y = Browser(server, user: "u1")
        try await y.sync()
        var renamed = x.farm
        renamed["name"] = "Granja Nueva"
        renamed["id"] = "name"
        renamed["value"] = "junk"
        renamed[SyncField.updatedAt] = "2026-01-01T00:00:00Z"
        let rename = try await x.sync(farm: renamed)
        #expect(rename.synced == 1)
        lab.clock.advance(milliseconds: 10)
        var capacity = y.farm
        capacity["capacity"] = 6000
        let other = try await y.sync(farm: capacity)
        #expect(other.synced == 1 && other.issues.isEmpty, "the old name it holds is stale, not an edit")
        await #expect(try server.get("farm") == ["name": "Granja Nueva", "capacity": 6000])
        #expect(y.farm == ["name": "Granja Nueva", "capacity": 6000])
        try await x.sync()
        #expect(x.farm["capacity"] == 6000)
        lab.clock.advance(milliseconds: 10)
        var concurrent = x.farm
        concurrent["capacity"] = 7000
        await #expect(try x.sync(farm: concurrent).issues.isEmpty)
        var clash = y.farm
        clash["capacity"] = 8000
        lab.clock.advance(milliseconds: 10)
        let conflict = try await y.sync(farm: clash)
        #expect(conflict.issues.map(\.id) == ["capacity"])
        let archived = try await server.conflicts()
        #expect(archived.count == 1, "\(archived.map { ($0.recordID, $0.winner.content, $0.loser.content) })")
    }

    @Test func junkThatOlderAnswersPutIntoTheFarmIsRemovedEverywhere() async throws {
        var (server, agent, browser) = try await setUp()
        try await server.put("farm", ["name": "Granja", "capacity": 5000, "id": "name", "value": "Granja", "_syncVV": ["x": "2026-01-01T00:00:00Z"]])
        await #expect(try server.get("farm").objectValue?.count == 5)
        try await browser.sync()
        await #expect(try server.get("farm") == ["name": "Granja", "capacity": 5000])
        try await DirectSync.pull(from: server, into: agent)
        await #expect(try agent.get("farm") == ["name": "Granja", "capacity": 5000])
    }

    @Test func aNewDevicesDefaultFarmNeverOverwritesTheProfile() async throws {
        let (server, _, _) = try await setUp()
        var fresh = Browser(server, user: "u3")
        let result = try await fresh.sync(farm: ["name": "Mi Granja", "capacity": 0, "currency": "USD"])
        await #expect(try server.get("farm").objectValue?["name"] == "Granja")
        await #expect(try server.get("farm").objectValue?["currency"] == "USD", "a field the server lacked is added")
        #expect(result.issues.count == 2, "fields without known ancestry are archived for review")
        #expect(fresh.farm["name"] == "Granja")
    }

    @Test func badRecordsAreRejectedAloneAndNumericIdsAreIds() async throws {
        var (server, _, browser) = try await setUp()
        let result = try await browser.sync([
            "clients": [
                ["name": "no id"], ["id": "k\u{0}x"], ["id": .string(String(repeating: "x", count: 600))], ["id": 1.5],
                ["id": 7, "name": "numeric"], ["id": "c2", "name": "fine"], ["id": "c2", "name": "twice"],
            ]
        ])
        let reasons = result.issues.compactMap { issue -> String? in
            if case .rejected(let error) = issue.kind { return error.reason.rawValue } else { return nil }
        }
        #expect(reasons == ["missing-id", "bad-id", "bad-id", "bad-id", "bad-id"])
        #expect(result.synced == 2)
        await #expect(try server.get("clients", id: "7").objectValue?["id"] == 7)
        await #expect(try server.get("clients", id: "c2").objectValue?["name"] == "fine")
    }

    @Test func answerTokensMapExactlyAndOnlyTheLatestTwoOfAChainAreKept() async throws {
        var (server, agent, browser) = try await setUp()
        for n in 0..<5 {
            lab.clock.advance(milliseconds: 5)
            try await agent.put("flocks", ["id": "f1", "name": "Lote 1", "count": .number(JSONNumber(n))])
            try await DirectSync.push(from: agent, to: server)
            try await browser.sync()
            #expect(browser.record("flocks", "f1")["count"] == .number(JSONNumber(n)))
        }
        #expect(try ReplicaLab.query(server, "SELECT count(*) FROM legacy_answer") == ["[count(*):2]"])
        let unknown = try await server.legacyPush(
            LegacyPush(since: .client(text: "2020-01-01", time: Timestamp(iso8601: "2020-01-01T00:00:00Z")!), author: .device("d"))
        )
        #expect(unknown.since == 0)
    }
}
