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
    mutating func sync(_ groups: [String: [JSONObject]] = [:], farm pushedFarm: JSONObject? = nil) throws -> LegacyPushResult {
        for (collection, pushed) in groups {
            for record in pushed {
                if let id = try? RecordVersion.recordID(of: record) { records[collection, default: [:]][id] = record }
            }
        }
        if let pushedFarm { farm = pushedFarm }
        let push = LegacyPush(
            groups: groups.sorted { $0.key < $1.key }.map { .init(label: $0.key, collection: $0.key, records: $0.value.map(JSONValue.object)) },
            farm: pushedFarm.map { [.object($0)] } ?? [], since: since, author: .browser(prefix: "web:\(user)/"))
        let result = try server.legacyPush(push)
        var answer: [(String, JSONObject)] = []
        let farmFields = try server.legacyFarm(for: result)
        try server.legacyChanges(for: result, collections: ["flocks", "clients"]) { collection, body, hash in
            var record = try JSONParser().parse(Array(body)).objectValue!
            record[SyncField.contentHash] = .string(hash)
            answer.append((collection, record))
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
    func setUp() throws -> (server: Replica, agent: Replica, browser: Browser) {
        let server = try lab.open("server", role: .server)
        let agent = try lab.open("agent")
        try agent.put("flocks", ["id": "f1", "name": "Lote 1", "count": 100])
        try agent.put("flocks", ["id": "f2", "name": "Lote 2", "count": 200])
        try agent.put("farm", ["name": "Granja", "capacity": 5000])
        try Exchange.push(from: agent, to: server)
        var browser = Browser(server, user: "u1")
        try browser.sync()
        lab.clock.advance(milliseconds: 1_000)
        return (server, agent, browser)
    }

    func edited(_ record: JSONObject, _ changes: [(String, JSONValue)]) -> JSONObject {
        var copy = record
        for (key, value) in changes { copy[key] = value }
        return copy
    }

    @Test func aLoginGetsEverythingAndItsEchoChangesNothing() throws {
        var (server, _, browser) = try setUp()
        #expect(browser.records["flocks"]?.count == 2)
        #expect(browser.farm == ["name": "Granja", "capacity": 5000], "one farm-shaped object without metadata")
        #expect(browser.record("flocks", "f1")[SyncField.contentHash] != nil)
        let head = try server.headSequence()
        let echo = try browser.sync(["flocks": Array(browser.records["flocks"]!.values)], farm: browser.farm)
        #expect(echo.synced == 0 && echo.issues.isEmpty)
        #expect(try server.headSequence() == head)
    }

    @Test func anEditOfTheStoredVersionIsSequential() throws {
        var (server, _, browser) = try setUp()
        let result = try browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 99)])]])
        #expect(result.synced == 1 && result.issues.isEmpty)
        #expect(try server.get("flocks", id: "f1").objectValue?["count"] == 99)
        #expect(try server.conflicts().isEmpty)
    }

    @Test func aSecondEditOfItsOwnPushIsSequentialThoughItsMetadataNamesTheOldBase() throws {
        var (server, _, browser) = try setUp()
        let before = browser.record("flocks", "f1")[SyncField.updatedAt]
        try browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 99)])]])
        #expect(browser.record("flocks", "f1")[SyncField.updatedAt] == before, "its own push is not sent back")
        let second = try browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 98)])]])
        #expect(second.synced == 1 && second.issues.isEmpty)
        #expect(try server.get("flocks", id: "f1").objectValue?["count"] == 98)
        #expect(try server.conflicts().isEmpty)
    }

    @Test func aConcurrentEditOfTwoBrowsersOfOneUserIsArchivedAndCounted() throws {
        var (server, _, x) = try setUp()
        var y = Browser(server, user: "u1")
        try y.sync()
        try x.sync(["flocks": [edited(x.record("flocks", "f1"), [("name", "Renamed by X")])]])
        lab.clock.advance(milliseconds: 10)
        let result = try y.sync(["flocks": [edited(y.record("flocks", "f1"), [("count", 42)])]])
        #expect(result.conflicts == 1)
        #expect(result.issues.map(\.id) == ["f1"])
        #expect(result.issues.first?.kind == .conflict(.concurrentEdit))
        let live = try server.get("flocks", id: "f1").objectValue!
        let archived = try server.conflicts()
        #expect(archived.count == 1)
        let versions = [live, archived[0].loser.content].map { ($0["name"], $0["count"]) }
        #expect(versions.contains { $0.0 == "Renamed by X" } && versions.contains { $0.1 == 42 }, "neither edit vanished")
    }

    @Test func anUnchangedStaleCopyChangesNothingAndGetsTheStoredVersionBack() throws {
        var (server, agent, browser) = try setUp()
        let stale = browser.record("flocks", "f1")
        try agent.put("flocks", ["id": "f1", "name": "Lote 1", "count": 150])
        try Exchange.push(from: agent, to: server)
        let head = try server.headSequence()
        browser.since = .never
        let result = try browser.sync(["flocks": [stale]])
        #expect(result.synced == 0 && result.issues.isEmpty)
        #expect(try server.headSequence() == head)
        #expect(browser.record("flocks", "f1")["count"] == 150)
    }

    @Test func aRecordWithoutKnownAncestryLeavesTheStoredOneAndIsArchived() throws {
        var (server, _, _) = try setUp()
        var fresh = Browser(server, user: "u2")
        let result = try fresh.sync(["flocks": [["id": "f2", "name": "Lote 2", "count": 1]]])
        #expect(result.synced == 0)
        #expect(result.issues.first?.kind == .conflict(.concurrentEdit))
        #expect(try server.get("flocks", id: "f2").objectValue?["count"] == 200)
        #expect(try server.conflicts().first?.loser.content["count"] == 1)
        #expect(fresh.record("flocks", "f2")["count"] == 200, "the stored version comes back")
    }

    @Test func aRecordDeletedElsewhereIsNeverResurrected() throws {
        var (server, agent, browser) = try setUp()
        try agent.delete("flocks", id: "f2")
        try Exchange.push(from: agent, to: server)
        let echo = try browser.sync(["flocks": [browser.record("flocks", "f2")]])
        #expect(echo.synced == 0 && echo.issues.isEmpty)
        #expect(try server.get("flocks", id: "f2").objectValue?["_deletedAt"] != .null)
        let edit = try browser.sync(["flocks": [edited(browser.record("flocks", "f2"), [("count", 7)])]])
        #expect(edit.issues.first?.kind == .conflict(.deleteVsEdit))
        #expect(try server.get("flocks", id: "f2").objectValue?["_deletedAt"] != .null)
        #expect(try server.conflicts().first?.loser.content["count"] == 7)
        #expect(try server.get("flocks").arrayValue?.count == 1)
    }

    @Test func theAnswerLeavesOutDeletionsAndTheClientsOwnPush() throws {
        var (server, agent, browser) = try setUp()
        try agent.delete("flocks", id: "f2")
        try agent.put("clients", ["id": "c1", "name": "Feria"])
        try Exchange.push(from: agent, to: server)
        let result = try browser.sync(["flocks": [edited(browser.record("flocks", "f1"), [("count", 1)])]])
        var sent: [String] = []
        try server.legacyChanges(for: result, collections: ["flocks", "clients"]) { collection, body, _ in
            sent.append(collection + "/" + (try JSONParser().parse(Array(body)).objectValue!["id"]!.stringValue!))
        }
        #expect(sent == ["clients/c1"])
        var paged: [String] = []
        for collection in ["clients", "flocks"] {
            var after: String?
            repeat {
                after = try server.legacyPage(of: collection, for: result, after: after, limit: 1) { collection, body, _ in
                    paged.append(collection + "/" + (try JSONParser().parse(Array(body)).objectValue!["id"]!.stringValue!))
                }
            } while after != nil
        }
        #expect(paged == sent, "pages hold what the single read holds")
    }

    @Test func theFarmIsAppliedPerFieldWithoutJunkAndStaleFieldsStay() throws {
        var (server, _, x) = try setUp()
        var y = Browser(server, user: "u1")
        try y.sync()
        var renamed = x.farm
        renamed["name"] = "Granja Nueva"
        renamed["id"] = "name"
        renamed["value"] = "junk"
        renamed[SyncField.updatedAt] = "2026-01-01T00:00:00Z"
        let rename = try x.sync(farm: renamed)
        #expect(rename.synced == 1)
        lab.clock.advance(milliseconds: 10)
        var capacity = y.farm
        capacity["capacity"] = 6000
        let other = try y.sync(farm: capacity)
        #expect(other.synced == 1 && other.issues.isEmpty, "the old name it holds is stale, not an edit")
        #expect(try server.get("farm") == ["name": "Granja Nueva", "capacity": 6000])
        #expect(y.farm == ["name": "Granja Nueva", "capacity": 6000])
        try x.sync()
        #expect(x.farm["capacity"] == 6000)
        lab.clock.advance(milliseconds: 10)
        var concurrent = x.farm
        concurrent["capacity"] = 7000
        #expect(try x.sync(farm: concurrent).issues.isEmpty)
        var clash = y.farm
        clash["capacity"] = 8000
        lab.clock.advance(milliseconds: 10)
        let conflict = try y.sync(farm: clash)
        #expect(conflict.issues.map(\.id) == ["capacity"])
        let archived = try server.conflicts()
        #expect(archived.count == 1, "\(archived.map { ($0.recordID, $0.winner.content, $0.loser.content) })")
    }

    @Test func junkThatOlderAnswersPutIntoTheFarmIsRemovedEverywhere() throws {
        var (server, agent, browser) = try setUp()
        try server.put("farm", ["name": "Granja", "capacity": 5000, "id": "name", "value": "Granja", "_syncVV": ["x": "2026-01-01T00:00:00Z"]])
        #expect(try server.get("farm").objectValue?.count == 5)
        try browser.sync()
        #expect(try server.get("farm") == ["name": "Granja", "capacity": 5000])
        try Exchange.pull(from: server, into: agent)
        #expect(try agent.get("farm") == ["name": "Granja", "capacity": 5000])
    }

    @Test func aNewDevicesDefaultFarmNeverOverwritesTheProfile() throws {
        var (server, _, _) = try setUp()
        var fresh = Browser(server, user: "u3")
        let result = try fresh.sync(farm: ["name": "Mi Granja", "capacity": 0, "currency": "USD"])
        #expect(try server.get("farm").objectValue?["name"] == "Granja")
        #expect(try server.get("farm").objectValue?["currency"] == "USD", "a field the server lacked is added")
        #expect(result.issues.count == 2, "fields without known ancestry are archived for review")
        #expect(fresh.farm["name"] == "Granja")
    }

    @Test func badRecordsAreRejectedAloneAndNumericIdsAreIds() throws {
        var (server, _, browser) = try setUp()
        let result = try browser.sync([
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
        #expect(try server.get("clients", id: "7").objectValue?["id"] == 7)
        #expect(try server.get("clients", id: "c2").objectValue?["name"] == "fine")
    }

    @Test func answerTokensMapExactlyAndOnlyTheLatestTwoOfAChainAreKept() throws {
        var (server, agent, browser) = try setUp()
        for n in 0..<5 {
            lab.clock.advance(milliseconds: 5)
            try agent.put("flocks", ["id": "f1", "name": "Lote 1", "count": .number(JSONNumber(n))])
            try Exchange.push(from: agent, to: server)
            try browser.sync()
            #expect(browser.record("flocks", "f1")["count"] == .number(JSONNumber(n)))
        }
        #expect(try ReplicaLab.query(server, "SELECT count(*) FROM legacy_answer") == ["[count(*):2]"])
        let unknown = try server.legacyPush(LegacyPush(since: .client(text: "2020-01-01", time: Timestamp(iso8601: "2020-01-01T00:00:00Z")!), author: .device("d")))
        #expect(unknown.since == 0)
    }
}
